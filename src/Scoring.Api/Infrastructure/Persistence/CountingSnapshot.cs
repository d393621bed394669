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
/// policy) and to its instant (what counted then includes what has expired since, never less). And every
/// <see cref="ReadEvery"/>th write of a user reads the violations whatever its copy says, so a change made
/// behind the service's back (a repair by hand in SQL, a restore of some tables) reaches the user's score
/// within that many writes, as it reached it at the next write before there were copies.
/// </summary>
/// <remarks>
/// A compact binary form: a format byte, the version, the instant, the policy version, then each
/// violation's id (a GUID in its 16 bytes), category, severity, instant and whether it is contested: about
/// 40 bytes a violation. A copy over <see cref="MaxBytes"/> is not kept (the user is read each time), so the
/// lock row stays under PostgreSQL's TOAST threshold (about 2 kB a row): never compressed or moved out of
/// line, and small enough for its updates to stay on their page.
/// </remarks>
public sealed record CountingSnapshot(long Version, DateTimeOffset At, string PolicyVersion, IReadOnlyList<ScoredViolation> Violations)
{
    /// <summary>The largest copy kept: with the rest of the lock row (about 300 bytes) under the TOAST threshold.</summary>
    public const int MaxBytes = 1536;

    /// <summary>More violations than this never fit in <see cref="MaxBytes"/> (each takes 19 bytes at least): a count above it is damage.</summary>
    private const int MaxViolations = MaxBytes / 19;

    /// <summary>Every this many versions of a user, a write reads the violations instead of trusting its copy.</summary>
    public const int ReadEvery = 16;

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

        // Written on the stack, copied out once: every write of every user keeps a copy.
        var writer = new SpanWriter(stackalloc byte[MaxBytes]);
        writer.Byte(Format);
        writer.Int64(version);
        writer.Int64(at.UtcTicks);
        writer.String(policyVersion);
        writer.Int32(violations.Count);
        foreach (var violation in violations)
        {
            writer.Id(violation.ViolationId);
            writer.String(violation.Category);
            writer.Byte((byte)violation.Severity);
            writer.Int64(violation.OccurredAt.UtcTicks);
            writer.Byte(violation.Contested ? (byte)1 : (byte)0);
        }

        return writer.Full ? null : writer.Written.ToArray();
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
            var at = reader.Instant();
            var policyVersion = reader.String();
            var count = reader.Count();
            var violations = new ScoredViolation[count];
            for (var i = 0; i < count; i++)
            {
                var id = reader.Id();
                var category = reader.String();
                var severity = reader.Severity();
                var occurredAt = reader.Instant();
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
    /// What counted for the user of <paramref name="row"/> at <paramref name="at"/>, from the copy on the row,
    /// if it can say; null when the violations must be read. Under the write lock
    /// (<paramref name="underLock"/>) the lock statement has raised the row's version, so the copy must be of
    /// the version before (the write just before this one kept it), and every <see cref="ReadEvery"/>th
    /// version reads regardless; outside it (a cache miss), of the row's own version. Either way under this
    /// policy version and taken no later than <paramref name="at"/>.
    /// </summary>
    public static IEnumerable<ScoredViolation>? CountingAt(UserScoreVersion row, bool underLock, ScoringPolicy policy, DateTimeOffset at)
    {
        if (underLock && row.Version % ReadEvery == 0)
        {
            return null;
        }

        var version = underLock ? row.Version - 1 : row.Version;
        return Decode(row.Counting) is { } copy && copy.Version == version && copy.PolicyVersion == policy.Version && copy.At <= at
            ? copy.Violations.Where(v => policy.Counts(v, at))
            : null;
    }

    /// <summary>
    /// Writes the fields in order into a fixed buffer; one that does not fit leaves <see cref="Full"/> set
    /// (the copy is then not kept).
    /// </summary>
    private ref struct SpanWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _length;

        public bool Full { get; private set; }

        public readonly ReadOnlySpan<byte> Written => _buffer[.._length];

        public void Byte(byte value)
        {
            if (Room(1))
            {
                _buffer[_length++] = value;
            }
        }

        public void Int64(long value)
        {
            if (Room(8))
            {
                BinaryPrimitives.WriteInt64LittleEndian(_buffer[_length..], value);
                _length += 8;
            }
        }

        public void Int32(int value)
        {
            if (Room(4))
            {
                BinaryPrimitives.WriteInt32LittleEndian(_buffer[_length..], value);
                _length += 4;
            }
        }

        public void String(string value)
        {
            var length = Encoding.UTF8.GetByteCount(value);
            Int32(length);
            if (Room(length))
            {
                _length += Encoding.UTF8.GetBytes(value, _buffer[_length..]);
            }
        }

        /// <summary>The service's ids are GUIDs in their usual text: 16 bytes instead of 40. Any other id as text.</summary>
        public void Id(string id)
        {
            Span<char> text = stackalloc char[36];
            if (Guid.TryParseExact(id, "D", out var guid) && guid.TryFormat(text, out var written, "D") && text[..written].SequenceEqual(id))
            {
                Byte(GuidId);
                if (Room(16))
                {
                    guid.TryWriteBytes(_buffer[_length..]);
                    _length += 16;
                }

                return;
            }

            Byte(TextId);
            String(id);
        }

        private bool Room(int length)
        {
            Full |= _buffer.Length - _length < length;
            return !Full;
        }
    }

    /// <summary>Reads the fields in order; bytes that end early or hold an impossible count are a <see cref="FormatException"/>.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> bytes)
    {
        private ReadOnlySpan<byte> _rest = bytes;

        public readonly bool AtEnd => _rest.IsEmpty;

        public byte Byte() => Take(1)[0];

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public int Count() => Length(MaxViolations);

        public DateTimeOffset Instant()
        {
            var ticks = Int64();
            return ticks is >= 0 and <= 3155378975999999999 // DateTimeOffset.MaxValue.UtcTicks
                ? new DateTimeOffset(ticks, TimeSpan.Zero)
                : throw new FormatException($"An instant of {ticks} ticks");
        }

        public Severity Severity()
        {
            var value = (Severity)Byte();
            return Enum.IsDefined(value) ? value : throw new FormatException($"A severity of {(int)value}");
        }

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
