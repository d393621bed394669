using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Scoring.Domain.Audit;

/// <summary>
/// One state change on a user's record, chained to the user's previous entry by an HMAC under a secret
/// <see cref="AuditKey"/>, so that an edit, insertion, deletion or reorder by anyone without the key is
/// detectable. Holds codes, states, severities and points, never free text: statements, notes and
/// rationales stay in their own records.
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

    /// <summary>HMAC-SHA256 (lower-case hex) under the key <see cref="KeyId"/>; plain SHA-256 for an unkeyed entry.</summary>
    public string Hash { get; private set; } = null!;
    public string? PreviousHash { get; private set; }

    /// <summary>The id of the <see cref="AuditKey"/> that chained this entry; null for an entry written before keys (SHA-256 only).</summary>
    public string? KeyId { get; private set; }

    /// <summary>Where the chain continues after this entry.</summary>
    public AuditHead Head => new(Sequence, Hash, OccurredAt);

    /// <summary>Appends <paramref name="change"/> after <paramref name="previous"/> (null for the user's first entry), chained under <paramref name="key"/>.</summary>
    public static AuditEntry Append(AuditEntry? previous, AuditChange change, string id, string userId, DateTimeOffset at, AuditKey key) =>
        Continue(previous?.Head, change, id, userId, at, key);

    /// <summary>
    /// Appends <paramref name="change"/> after the entry <paramref name="previous"/> describes (null for
    /// the user's first entry), chained under <paramref name="key"/>. Its time is never earlier than the
    /// previous entry's, so times within one chain never decrease even when replicas' clocks disagree.
    /// </summary>
    public static AuditEntry Continue(AuditHead? previous, AuditChange change, string id, string userId, DateTimeOffset at, AuditKey key)
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
            KeyId = key.Id,
        };
        entry.Hash = key.Sign(entry.Canonical());
        return entry;
    }

    /// <summary>
    /// Whether <see cref="Hash"/> is what <paramref name="key"/> (null for an unkeyed entry: SHA-256) gives
    /// for this entry; compared in constant time, so repeated checks do not reveal how much of a forgery matched.
    /// </summary>
    internal bool HashMatches(AuditKey? key)
    {
        var canonical = Canonical();
        var expected = key is null ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))) : key.Sign(canonical);
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(Hash));
    }

    /// <summary>
    /// What the hash covers: length-prefixed fields in a fixed order, invariant formats, so no two different
    /// entries encode alike. Versioned by its first field: <c>audit-v2</c> then the key id for keyed entries;
    /// <c>audit-v1</c> (no key id) for entries written before keys, which must keep verifying unchanged.
    /// </summary>
    public string Canonical()
    {
        var builder = new StringBuilder(KeyId is null ? "audit-v1" : "audit-v2");
        void Field(string? value)
        {
            value ??= "";
            builder.Append('|').Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value);
        }

        if (KeyId is not null)
        {
            Field(KeyId);
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
    long ItemCount = 0)
{
    /// <summary>The longest reason an entry holds (a policy activation's, written by a person; the others are codes).</summary>
    public const int MaxReasonLength = 500;
}

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

    /// <summary>Policy versions, on the system chain: each state change of a version (target: the version string).</summary>
    public const string PolicyDrafted = "policy.drafted";
    public const string PolicyUpdated = "policy.updated";
    public const string PolicyPublished = "policy.published";
    public const string PolicyActivated = "policy.activated";
    public const string PolicyRetired = "policy.retired";

    /// <summary>Report runs, on the system chain: who ran which report (target: the period, start/end), never its content.</summary>
    public const string ReportTransparency = "report.transparency";
    public const string ReportStatements = "report.statements";

    /// <summary>A chain written before audit keys, checked and then covered by this first keyed entry.</summary>
    public const string ChainSealed = "audit.sealed";
}

/// <summary>Why a chain does not verify, at its first broken sequence.</summary>
public enum AuditChainBreak
{
    /// <summary>The chain verifies.</summary>
    None,

    /// <summary>A sequence number, a link to the previous hash, or a hash does not match: an edit, insertion, deletion or reorder.</summary>
    Mismatch,

    /// <summary>The entry names a key id that no configured key has (a previous key was removed, or the id was forged).</summary>
    UnknownKey,

    /// <summary>
    /// An unkeyed (SHA-256) entry after a keyed one, or a chain with no keyed entry while unkeyed chains are
    /// not accepted: anyone can compute SHA-256, so a rewrite into unkeyed entries would otherwise pass.
    /// </summary>
    Unkeyed,
}

/// <summary>Checks a chain entry by entry, from the first, without holding it in memory.</summary>
public sealed class AuditChainVerifier(AuditKeyring keyring)
{
    private string? _previousHash;
    private bool _keyed;
    private long? _firstBroken;
    private AuditChainBreak _break;

    public long EntriesChecked { get; private set; }

    /// <summary>The first sequence that does not verify; null while the chain is intact.</summary>
    public long? FirstBrokenSequence => _firstBroken ?? (UnacceptedUnkeyedChain ? 1 : null);

    /// <summary>Why <see cref="FirstBrokenSequence"/> does not verify.</summary>
    public AuditChainBreak Break => _firstBroken is not null ? _break : UnacceptedUnkeyedChain ? AuditChainBreak.Unkeyed : AuditChainBreak.None;

    /// <summary>With <see cref="AuditChainBreak.UnknownKey"/>: the key id no configured key has.</summary>
    public string? UnknownKeyId { get; private set; }

    // Unkeyed entries are protected only by a keyed entry after them; a chain of nothing else proves nothing.
    private bool UnacceptedUnkeyedChain => EntriesChecked > 0 && !_keyed && !keyring.AcceptUnkeyedChains;

    public void Add(AuditEntry entry)
    {
        EntriesChecked++;
        if (_firstBroken is null)
        {
            var found = Check(entry, EntriesChecked);
            if (found != AuditChainBreak.None)
            {
                _firstBroken = Math.Min(entry.Sequence, EntriesChecked);
                _break = found;
                UnknownKeyId = found == AuditChainBreak.UnknownKey ? entry.KeyId : null;
            }
        }

        _keyed |= entry.KeyId is not null;
        _previousHash = entry.Hash;
    }

    private AuditChainBreak Check(AuditEntry entry, long expectedSequence)
    {
        if (entry.Sequence != expectedSequence || entry.PreviousHash != _previousHash)
        {
            return AuditChainBreak.Mismatch;
        }

        if (entry.KeyId is null)
        {
            // Entries written before keys come first in a chain; one after a keyed entry is a downgrade.
            return _keyed ? AuditChainBreak.Unkeyed : entry.HashMatches(null) ? AuditChainBreak.None : AuditChainBreak.Mismatch;
        }

        var key = keyring.Find(entry.KeyId);
        if (key is null)
        {
            return AuditChainBreak.UnknownKey;
        }

        return entry.HashMatches(key) ? AuditChainBreak.None : AuditChainBreak.Mismatch;
    }
}

/// <summary>Checks a whole chain.</summary>
public static class AuditChain
{
    /// <summary>The first sequence that does not verify with <paramref name="keyring"/>; null when the chain is intact.</summary>
    public static long? FirstBroken(IEnumerable<AuditEntry> entriesInOrder, AuditKeyring keyring) =>
        Verify(entriesInOrder, keyring).FirstBrokenSequence;

    /// <summary>Checks every entry and returns the verifier, which says where and why the chain breaks.</summary>
    public static AuditChainVerifier Verify(IEnumerable<AuditEntry> entriesInOrder, AuditKeyring keyring)
    {
        var verifier = new AuditChainVerifier(keyring);
        foreach (var entry in entriesInOrder)
        {
            verifier.Add(entry);
        }

        return verifier;
    }
}
