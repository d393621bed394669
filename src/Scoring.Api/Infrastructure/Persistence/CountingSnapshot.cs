using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Scoring.Domain;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// A user's counting violations as the last write saw them, kept on the user's lock row
/// (<see cref="UserScoreVersion.Counting"/>) so the next write, which reads the row anyway as its lock
/// statement's result, need not read them again from the violations table. That read was a write's largest
/// single cost. A copy, never the truth: it is used only when nothing can have changed since it was taken,
/// which the version on the row says exactly. Every writer raises the version under the lock, so a write
/// that changes violations without keeping a new copy (an older release during a rolling upgrade, a path
/// that does not keep one) leaves a copy of an older version, which is then ignored and the violations read
/// as before. The copy is also tied to the policy version it was taken under (what counts depends on the
/// policy) and to its instant (what counted then includes what has expired since, never less).
/// </summary>
/// <remarks>
/// A compact binary form: a format byte, the version, the instant, the policy version, then each
/// violation's id, category, severity, instant and whether it is contested. About 40 bytes a violation (a GUID id in its 16 bytes), so
/// a row stays well inside PostgreSQL's page (TOAST starts near 2 kB); users with more violations than
/// <see cref="MaxViolations"/> keep no copy and are read each time.
/// </remarks>
public sealed record CountingSnapshot(long Version, DateTimeOffset At, string PolicyVersion, IReadOnlyList<ScoredViolation> Violations)
{
    /// <summary>Users with more counting violations keep no copy: their row would outgrow its page.</summary>
    public const int MaxViolations = 48;

    private const byte Format = 1;
    private const byte TextId = 0;
    private const byte GuidId = 1;

    /// <summary>The copy to keep for a state written at <paramref name="version"/>; null when it would be too large.</summary>
    public static byte[]? Encode(long version, DateTimeOffset at, string policyVersion, IReadOnlyCollection<ScoredViolation> violations)
    {
        if (violations.Count > MaxViolations)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(64 + (violations.Count * 64));
        buffer.GetSpan(1)[0] = Format;
        buffer.Advance(1);
        WriteInt64(buffer, version);
        WriteInt64(buffer, at.UtcTicks);
        WriteString(buffer, policyVersion);
        WriteCount(buffer, violations.Count);
        foreach (var violation in violations)
        {
            WriteId(buffer, violation.ViolationId);
            WriteString(buffer, violation.Category);
            var span = buffer.GetSpan(10);
            span[0] = (byte)violation.Severity;
            BinaryPrimitives.WriteInt64LittleEndian(span[1..], violation.OccurredAt.UtcTicks);
            span[9] = violation.Contested ? (byte)1 : (byte)0;
            buffer.Advance(10);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The copy these bytes hold; null for none, or for bytes of a format this release does not know.</summary>
    public static CountingSnapshot? Decode(byte[]? bytes)
    {
        if (bytes is not [Format, ..])
        {
            return null;
        }

        try
        {
            var reader = new SpanReader(bytes.AsSpan(1));
            var version = reader.Int64();
            var at = new DateTimeOffset(reader.Int64(), TimeSpan.Zero);
            var policyVersion = reader.String();
            var count = reader.Count();
            var violations = new ScoredViolation[count];
            for (var i = 0; i < count; i++)
            {
                var id = reader.Id();
                var category = reader.String();
                var severity = (Severity)reader.Byte();
                var occurredAt = new DateTimeOffset(reader.Int64(), TimeSpan.Zero);
                violations[i] = new ScoredViolation(id, category, severity, occurredAt, reader.Byte() == 1);
            }

            return reader.AtEnd ? new CountingSnapshot(version, at, policyVersion, violations) : null;
        }
        catch (FormatException)
        {
            // Truncated or damaged: as if there were none, so the violations are read.
            return null;
        }
    }

    /// <summary>
    /// What counted for the user at <paramref name="at"/>, if this copy can say: it was taken by the write
    /// just before the row's version <paramref name="version"/>, under this policy, no later than
    /// <paramref name="at"/>. Null otherwise (the caller reads the violations).
    /// </summary>
    public IEnumerable<ScoredViolation>? CountingAt(long version, ScoringPolicy policy, DateTimeOffset at) =>
        Version == version && PolicyVersion == policy.Version && At <= at
            ? Violations.Where(v => policy.Counts(v, at))
            : null;

    private static void WriteInt64(ArrayBufferWriter<byte> buffer, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(buffer.GetSpan(8), value);
        buffer.Advance(8);
    }

    private static void WriteCount(ArrayBufferWriter<byte> buffer, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(4), value);
        buffer.Advance(4);
    }

    /// <summary>The service's ids are GUIDs in their usual text: 16 bytes instead of 40. Any other id as text.</summary>
    private static void WriteId(ArrayBufferWriter<byte> buffer, string id)
    {
        if (Guid.TryParseExact(id, "D", out var guid) && string.Equals(guid.ToString("D"), id, StringComparison.Ordinal))
        {
            var span = buffer.GetSpan(17);
            span[0] = GuidId;
            guid.TryWriteBytes(span[1..]);
            buffer.Advance(17);
            return;
        }

        buffer.GetSpan(1)[0] = TextId;
        buffer.Advance(1);
        WriteString(buffer, id);
    }

    private static void WriteString(ArrayBufferWriter<byte> buffer, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        var span = buffer.GetSpan(4 + length);
        BinaryPrimitives.WriteInt32LittleEndian(span, length);
        Encoding.UTF8.GetBytes(value, span[4..]);
        buffer.Advance(4 + length);
    }

    /// <summary>Reads the fields in order; bytes that end early or hold an impossible count are a <see cref="FormatException"/>.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> bytes)
    {
        private ReadOnlySpan<byte> _rest = bytes;

        public readonly bool AtEnd => _rest.IsEmpty;

        public byte Byte() => Take(1)[0];

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public int Count() => Length(MaxViolations);

        public string Id() => Byte() == TextId ? String() : new Guid(Take(16)).ToString("D");

        public string String() => Encoding.UTF8.GetString(Take(Length(_rest.Length)));

        private int Length(int max)
        {
            var value = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
            return value >= 0 && value <= max ? value : throw new FormatException($"A length of {value} where at most {max} fits");
        }

        private ReadOnlySpan<byte> Take(int length)
        {
            if (_rest.Length < length)
            {
                throw new FormatException("The copy ends early");
            }

            var taken = _rest[..length];
            _rest = _rest[length..];
            return taken;
        }
    }
}
