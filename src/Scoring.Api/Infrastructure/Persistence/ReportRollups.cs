using Scoring.Domain;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>What a <see cref="ReportTally"/> counts.</summary>
public enum ReportTallyKind
{
    Unspecified = 0,
    ViolationRecorded = 1,
    ViolationPurged = 2,
    UserErased = 3,
}

/// <summary>
/// A count for transparency reports, appended by the write that made it (one row per batch and set of
/// attributes) and summed per day by the report. Append-only: concurrent writers never wait on a shared
/// counter row. It holds no user id, so retention and erasure leave it: a past period's figures stay.
/// </summary>
public sealed class ReportTally
{
    public long Id { get; init; }

    /// <summary>The UTC day it happened on, as its midnight.</summary>
    public DateTimeOffset Day { get; init; }

    public ReportTallyKind Kind { get; init; }

    /// <summary>A recorded violation's category; empty for the other kinds.</summary>
    public string Category { get; init; } = "";

    public Severity Severity { get; init; }

    public bool Automated { get; init; }

    /// <summary>A recorded violation's source; empty for the other kinds.</summary>
    public string Source { get; init; } = "";

    public long Count { get; init; }
}

/// <summary>
/// A user's entry into a restrictive standing on a day, so a report can count distinct users over any
/// period. Erasure replaces the user id with a random key that links to nobody, so the count stays.
/// </summary>
public sealed class ReportStandingEntry
{
    public long Id { get; init; }

    public required string UserKey { get; init; }

    public Standing Standing { get; init; }

    /// <summary>An entry into a permanent ban.</summary>
    public bool Permanent { get; init; }

    public DateTimeOffset Day { get; init; }

    /// <summary>What an erased user's entries are keyed by instead: a space cannot occur in a user id.</summary>
    public static string AnonymousKey() => "erased " + Guid.NewGuid().ToString("N");
}
