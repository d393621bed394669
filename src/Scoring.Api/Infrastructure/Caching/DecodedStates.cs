using System.IO.Hashing;
using System.Text.Json;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Cached entries decoded, by their bytes. A hot user's entry comes back from Redis byte for byte the same
/// until it changes, so the state decoded from it last time is reused instead of parsing the JSON again
/// (the parse and its objects were the largest part of what a cached read allocated). Keyed by content,
/// not by user: the answer is always what the bytes Redis returned just now decode to, so nothing here can
/// be stale. A fixed number of slots, each holding the last entry whose hash fell in it: bounded memory,
/// no locks, and a collision only costs a parse.
/// </summary>
public sealed class DecodedStates
{
    private sealed class Slot(byte[] bytes, ScoreState state)
    {
        public byte[] Bytes { get; } = bytes;
        public ScoreState State { get; } = state;
    }

    private readonly Slot?[] _slots;
    private readonly int _mask;

    /// <param name="slots">Rounded up to a power of two.</param>
    public DecodedStates(int slots = 4096)
    {
        _slots = new Slot?[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(slots, 1))];
        _mask = _slots.Length - 1;
    }

    /// <summary>
    /// The state these bytes decode to. The state returned may be shared with other calls, so it must
    /// never be changed (states are immutable records; the violation list is never written after decoding).
    /// </summary>
    public ScoreState? Decode(byte[] bytes)
    {
        var index = (int)(XxHash3.HashToUInt64(bytes) & (ulong)_mask);
        if (Volatile.Read(ref _slots[index]) is { } slot && slot.Bytes.AsSpan().SequenceEqual(bytes))
        {
            return slot.State;
        }

        var state = JsonSerializer.Deserialize(bytes, ScoreStateJsonContext.Default.ScoreState);
        if (state is not null)
        {
            Volatile.Write(ref _slots[index], new Slot(bytes, state));
        }

        return state;
    }
}
