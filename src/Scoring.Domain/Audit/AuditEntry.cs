using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Scoring.Domain.Audit;

/// <summary>
/// One state change on a user's record, chained to the user's previous entry by hash so that any
/// edit, insertion or deletion is detectable. Holds codes, states, severities and points, never free
/// text: statements, notes and rationales stay in their own records.
/// </summary>
public sealed class AuditEntry
{
    // For EF Core materialisation.
    private AuditEntry()
    {
    }

    public string Id { get; private set; } = null!;
    public string UserId { get; private set; } = null!;
    public long Sequence { get; private set; }
    public DateTimeOffset OccurredAt { get; private set; }
    public string Actor { get; private set; } = null!;
    public string Action { get; private set; } = null!;
    public string TargetId { get; private set; } = null!;
    public string Reason { get; private set; } = null!;
    public string? BeforeState { get; private set; }
    public string? AfterState { get; private set; }
    public Severity BeforeSeverity { get; private set; }
    public Severity AfterSeverity { get; private set; }
    public double BeforePoints { get; private set; }
    public double AfterPoints { get; private set; }

    /// <summary>For an aggregate entry (an erasure, a retention purge): how many records it covers.</summary>
    public long ItemCount { get; private set; }

    public string Hash { get; private set; } = null!;
    public string? PreviousHash { get; private set; }

    /// <summary>Where the chain continues after this entry.</summary>
    public AuditHead Head => new(Sequence, Hash, OccurredAt);

    /// <summary>Appends <paramref name="change"/> after <paramref name="previous"/> (null for the user's first entry).</summary>
    public static AuditEntry Append(AuditEntry? previous, AuditChange change, string id, string userId, DateTimeOffset at) =>
        Continue(previous?.Head, change, id, userId, at);

    /// <summary>
    /// Appends <paramref name="change"/> after the entry <paramref name="previous"/> describes (null for
    /// the user's first entry). Its time is never earlier than the previous entry's, so times within one
    /// chain never decrease even when replicas' clocks disagree.
    /// </summary>
    public static AuditEntry Continue(AuditHead? previous, AuditChange change, string id, string userId, DateTimeOffset at)
    {
        if (previous is not null && at < previous.OccurredAt)
        {
            at = previous.OccurredAt;
        }

        var entry = new AuditEntry
        {
            Id = id,
            UserId = userId,
            Sequence = (previous?.Sequence ?? 0) + 1,
            OccurredAt = Instants.ToMicroseconds(at),
            Actor = change.Actor,
            Action = change.Action,
            TargetId = change.TargetId,
            Reason = change.Reason,
            BeforeState = change.BeforeState,
            AfterState = change.AfterState,
            BeforeSeverity = change.BeforeSeverity,
            AfterSeverity = change.AfterSeverity,
            BeforePoints = change.BeforePoints,
            AfterPoints = change.AfterPoints,
            ItemCount = change.ItemCount,
            PreviousHash = previous?.Hash,
        };
        entry.Hash = entry.ComputeHash();
        return entry;
    }

    /// <summary>SHA-256 (lower-case hex) over the previous hash and the canonical encoding of every other field.</summary>
    public string ComputeHash()
    {
        var bytes = Encoding.UTF8.GetBytes(Canonical());
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>
    /// Length-prefixed fields in a fixed order, invariant formats: no two different entries encode alike.
    /// Changing this breaks every existing chain, so it is versioned by its first field.
    /// </summary>
    private string Canonical()
    {
        var builder = new StringBuilder("audit-v1");
        void Field(string? value)
        {
            value ??= "";
            builder.Append('|').Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value);
        }

        Field(PreviousHash);
        Field(Id);
        Field(UserId);
        Field(Sequence.ToString(CultureInfo.InvariantCulture));
        Field(OccurredAt.UtcTicks.ToString(CultureInfo.InvariantCulture));
        Field(Actor);
        Field(Action);
        Field(TargetId);
        Field(Reason);
        Field(BeforeState);
        Field(AfterState);
        Field(((int)BeforeSeverity).ToString(CultureInfo.InvariantCulture));
        Field(((int)AfterSeverity).ToString(CultureInfo.InvariantCulture));
        Field(BeforePoints.ToString("R", CultureInfo.InvariantCulture));
        Field(AfterPoints.ToString("R", CultureInfo.InvariantCulture));
        Field(ItemCount.ToString(CultureInfo.InvariantCulture));
        return builder.ToString();
    }
}

/// <summary>The last entry of a user's chain, as far as appending needs it.</summary>
public sealed record AuditHead(long Sequence, string Hash, DateTimeOffset OccurredAt);

/// <summary>What changed, before the chain places it: the facts an entry records.</summary>
public sealed record AuditChange(
    string Actor,
    string Action,
    string TargetId,
    string Reason,
    string? BeforeState = null,
    string? AfterState = null,
    Severity BeforeSeverity = Severity.Unspecified,
    Severity AfterSeverity = Severity.Unspecified,
    double BeforePoints = 0,
    double AfterPoints = 0,
    long ItemCount = 0);

/// <summary>The actions entries record.</summary>
public static class AuditActions
{
    public const string ViolationRecorded = "violation.recorded";
    public const string AppealSubmitted = "appeal.submitted";
    public const string AppealAssigned = "appeal.assigned";
    public const string AppealDecided = "appeal.decided";
    public const string AppealWithdrawn = "appeal.withdrawn";
    public const string UserErased = "user.erased";
    public const string RetentionPurged = "retention.purged";
}

/// <summary>Checks a chain entry by entry, from the first, without holding it in memory.</summary>
public sealed class AuditChainVerifier
{
    private string? _previousHash;

    public long EntriesChecked { get; private set; }

    /// <summary>The first sequence whose number, link or hash does not verify; null while the chain is intact.</summary>
    public long? FirstBrokenSequence { get; private set; }

    public void Add(AuditEntry entry)
    {
        EntriesChecked++;
        var expected = EntriesChecked;
        if (FirstBrokenSequence is null
            && (entry.Sequence != expected || entry.PreviousHash != _previousHash || entry.Hash != entry.ComputeHash()))
        {
            FirstBrokenSequence = Math.Min(entry.Sequence, expected);
        }

        _previousHash = entry.Hash;
    }
}

/// <summary>Checks a whole chain.</summary>
public static class AuditChain
{
    /// <summary>The first sequence whose number, link or hash does not verify; null when the chain is intact.</summary>
    public static long? FirstBroken(IEnumerable<AuditEntry> entriesInOrder)
    {
        var verifier = new AuditChainVerifier();
        foreach (var entry in entriesInOrder)
        {
            verifier.Add(entry);
        }

        return verifier.FirstBrokenSequence;
    }
}
