using Scoring.Domain.Audit;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// One row per user ever written, never deleted (an erasure keeps it, so versions only grow). It
/// serialises the user's writers (its row lock), numbers their commits so the cache can refuse an
/// entry older than the one it holds, and keeps where the user's audit chain continues, so a write
/// needs no query to find it. No column of it is indexed but the key, so its updates stay HOT.
/// </summary>
public sealed class UserScoreVersion
{
    public required string UserId { get; init; }

    /// <summary>The version of the user's last committed change.</summary>
    public long Version { get; init; }

    /// <summary>The sequence of the user's last audit entry; 0 before the first.</summary>
    public long AuditSequence { get; private set; }

    /// <summary>The hash of the user's last audit entry; null before the first.</summary>
    public string? AuditHash { get; private set; }

    /// <summary>The time of the user's last audit entry; null before the first.</summary>
    public DateTimeOffset? AuditAt { get; private set; }

    public AuditHead? AuditHead => AuditHash is null || AuditAt is null ? null : new AuditHead(AuditSequence, AuditHash, AuditAt.Value);

    /// <summary>Moves the chain's head to <paramref name="entry"/>.</summary>
    public void ContinueAuditAt(AuditEntry entry)
    {
        AuditSequence = entry.Sequence;
        AuditHash = entry.Hash;
        AuditAt = entry.OccurredAt;
    }
}
