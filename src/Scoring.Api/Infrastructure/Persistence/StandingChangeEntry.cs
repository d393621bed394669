using Scoring.Domain;
using Scoring.Domain.Standings;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// One entry of the feed of standing changes. Entries are ordered by (<see cref="TransactionId"/>,
/// <see cref="Sequence"/>): on PostgreSQL the writing transaction's id, so a reader that stops below the
/// oldest transaction still running never skips an entry that commits late (sequences alone are not
/// commit-ordered); on SQLite, which has one writer at a time, 0.
/// </summary>
public sealed class StandingChangeEntry
{
    public long Sequence { get; init; }

    public long TransactionId { get; init; }

    public required string UserId { get; init; }

    public Standing PreviousStanding { get; init; }

    public Standing Standing { get; init; }

    public double Points { get; init; }

    public bool Permanent { get; init; }

    public StandingChangeCause Cause { get; init; }

    public DateTimeOffset ChangedAt { get; init; }

    public required string PolicyVersion { get; init; }

    /// <summary>When the entry was written; retention counts from here, since a late-noticed decay has an earlier <see cref="ChangedAt"/>.</summary>
    public DateTimeOffset RecordedAt { get; init; }

    public StandingChange ToChange() => new(UserId, PreviousStanding, Standing, Points, Permanent, Cause, ChangedAt, PolicyVersion);

    public static StandingChangeEntry From(StandingChange change, DateTimeOffset recordedAt) => new()
    {
        UserId = change.UserId,
        PreviousStanding = change.PreviousStanding,
        Standing = change.Standing,
        Points = change.Points,
        Permanent = change.Permanent,
        Cause = change.Cause,
        ChangedAt = change.ChangedAt,
        PolicyVersion = change.PolicyVersion,
        RecordedAt = recordedAt,
    };
}

/// <summary>A user whose recorded standing drops by itself at <see cref="DueAt"/>: the scan's worklist, indexed by time.</summary>
public sealed class StandingDrop
{
    public required string UserId { get; init; }

    public DateTimeOffset DueAt { get; set; }
}

/// <summary>The single row saying how far retention has removed the feed: entries at or below this revision are gone.</summary>
public sealed class StandingFeedCompaction
{
    public int Id { get; init; } = 1;

    public long TransactionId { get; set; }

    public long Sequence { get; set; }
}
