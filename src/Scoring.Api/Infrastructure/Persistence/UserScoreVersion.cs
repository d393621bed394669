using Scoring.Domain;
using Scoring.Domain.Audit;
using Scoring.Domain.Standings;

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

    /// <summary>The standing last recorded in the feed of standing changes (GOOD before any).</summary>
    public Standing Standing { get; private set; } = Standing.Good;

    /// <summary>When the recorded standing next drops by itself (decay, expiry) unless something happens first; null when it cannot.</summary>
    public DateTimeOffset? StandingDropsAt { get; private set; }

    /// <summary>
    /// The user's counting violations as the write of <see cref="Version"/> left them
    /// (<see cref="CountingSnapshot"/>), so the next write need not read them; null for none kept.
    /// </summary>
    public byte[]? Counting { get; private set; }

    /// <summary>Keeps the copy of the counting violations this write leaves (null: none, the next write reads them).</summary>
    public void KeepCounting(byte[]? snapshot) => Counting = snapshot;

    public StandingTimeline.Recorded RecordedStanding => new(Standing, StandingDropsAt);

    /// <summary>Records where the standing now is.</summary>
    public void Record(StandingTimeline.Recorded recorded)
    {
        Standing = recorded.Standing;
        StandingDropsAt = recorded.DropsAt;
    }

    public AuditHead? AuditHead => AuditHash is null || AuditAt is null ? null : new AuditHead(AuditSequence, AuditHash, AuditAt.Value);

    /// <summary>Moves the chain's head to <paramref name="entry"/>.</summary>
    public void ContinueAuditAt(AuditEntry entry)
    {
        AuditSequence = entry.Sequence;
        AuditHash = entry.Hash;
        AuditAt = entry.OccurredAt;
    }
}
