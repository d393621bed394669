namespace Scoring.Domain.Standings;

/// <summary>Why a user's standing changed. Values match the public contract.</summary>
public enum StandingChangeCause
{
    Unspecified = 0,
    ViolationRecorded = 1,
    AppealDecided = 2,
    Decay = 3,
    Expiry = 4,
    Erasure = 5,
    Retention = 6,
    Policy = 7,
}

/// <summary>One real change of a user's standing (points moving within one standing are not changes).</summary>
/// <param name="ChangedAt">For decay and expiry, the instant the standing changed, not when it was noticed.</param>
public sealed record StandingChange(
    string UserId,
    Standing PreviousStanding,
    Standing Standing,
    double Points,
    bool Permanent,
    StandingChangeCause Cause,
    DateTimeOffset ChangedAt,
    string PolicyVersion);
