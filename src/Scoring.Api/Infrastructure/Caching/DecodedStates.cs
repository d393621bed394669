using System.IO.Hashing;
using System.Text.Json;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Cached entries decoded, by their bytes. A hot user's entry comes back from Redis byte for byte the same
/// until it changes, so the state decoded from it last time is reused instead of parsing the JSON again
/// (the parse and its objects were the largest part of what a cached read allocated). Keyed by content,
/// not by user: the answer is always what the bytes Redis returned just now decode to, so nothing here can
/// be stale. It pays for hot users only; a read of a user nobody else asked for lately parses as before.
/// Bounded three ways: a fixed number of slots, each holding the last entry whose hash fell in it (no
/// locks; a collision only costs a parse); entries over <see cref="MaxBytes"/> are never kept; and every
/// slot is emptied once a minute, so nothing decoded (an erased user's old entry, say) outlives that in the
/// process for want of a newer entry in its slot.
/// </summary>
internal sealed class DecodedStates
{
    /// <summary>Larger entries (users with hundreds of violations) are parsed each time, never kept.</summary>
    public const int MaxBytes = 16 * 1024;

    private static readonly TimeSpan ClearEvery = TimeSpan.FromMinutes(1);

    private sealed class Slot(byte[] bytes, ScoreState state)
    {
        public byte[] Bytes { get; } = bytes;
        public ScoreState State { get; } = state;
    }

    private readonly Slot?[] _slots;
    private readonly int _mask;
    private readonly TimeProvider _time;
    private long _clearAt;

    /// <param name="slots">Rounded up to a power of two.</param>
    /// <param name="time">When the slots are emptied; real time in service.</param>
    public DecodedStates(int slots = 1024, TimeProvider? time = null)
    {
        _slots = new Slot?[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(slots, 1))];
        _mask = _slots.Length - 1;
        _time = time ?? TimeProvider.System;
        _clearAt = _time.GetTimestamp() + ClearTicks();
    }

    /// <summary>
    /// The state these bytes decode to (null for a JSON null). The state returned may be shared with other
    /// calls, so it must never be changed: states are immutable records, and nothing writes a decoded
    /// violation list.
    /// </summary>
    public ScoreState? Decode(byte[] bytes)
    {
        if (bytes.Length > MaxBytes)
        {
            return Parse(bytes);
        }

        var now = _time.GetTimestamp();
        var clearAt = Volatile.Read(ref _clearAt);
        if (now >= clearAt && Interlocked.CompareExchange(ref _clearAt, now + ClearTicks(), clearAt) == clearAt)
        {
            Array.Clear(_slots);
        }

        var index = (int)(XxHash3.HashToUInt64(bytes) & (ulong)_mask);
        if (Volatile.Read(ref _slots[index]) is { } slot && slot.Bytes.AsSpan().SequenceEqual(bytes))
        {
            return slot.State;
        }

        var state = Parse(bytes);
        if (state is not null)
        {
            Volatile.Write(ref _slots[index], new Slot(bytes, state));
        }

        return state;
    }

    private static ScoreState? Parse(byte[] bytes) => JsonSerializer.Deserialize(bytes, ScoreStateJsonContext.Default.ScoreState);

    private long ClearTicks() => (long)(ClearEvery.TotalSeconds * _time.TimestampFrequency);
}
