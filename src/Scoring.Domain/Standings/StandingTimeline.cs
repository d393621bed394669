using Scoring.Domain.Policies;
using Scoring.Domain.Scores;

namespace Scoring.Domain.Standings;

/// <summary>
/// What a user's standing did over time, from the standing last recorded for them. Standings worsen only
/// through events (a violation recorded) and improve through events (an appeal decided, an erasure) or
/// time (points decaying below a threshold, a violation passing max_age); this finds the time-driven
/// changes at their exact instants, and the change an event makes.
/// </summary>
public static class StandingTimeline
{
    /// <summary>Where a user's standing stands as recorded: the standing and the next instant it drops by itself.</summary>
    public readonly record struct Recorded(Standing Standing, DateTimeOffset? DropsAt);

    /// <summary>
    /// The standing drops that happened by themselves between the recorded state and <paramref name="now"/>,
    /// oldest first, each at the instant it happened, over <paramref name="violations"/> (the user's counting
    /// violations, unchanged over that time), and the state recorded after them.
    /// </summary>
    public static (IReadOnlyList<StandingChange> Changes, Recorded After) CatchUp(
        string userId, ScoringPolicy policy, IReadOnlyCollection<ScoredViolation> violations, Recorded recorded, DateTimeOffset now)
    {
        var changes = new List<StandingChange>();
        var standing = recorded.Standing;
        var dropsAt = recorded.DropsAt;
        while (dropsAt is { } at && at <= now)
        {
            var score = ScoreCalculator.Compute(policy, violations, at);
            if (score.Standing != standing)
            {
                changes.Add(new StandingChange(userId, standing, score.Standing, score.Points, score.Permanent, CauseAt(policy, violations, at), at, policy.Version));
                standing = score.Standing;
            }

            // A recorded instant may be early (the user's points rose since it was recorded): then nothing
            // dropped yet, and the search from here finds when it will.
            dropsAt = score.StandingImprovesAt;
        }

        // Drop instants are rounded up to the second, so the points may have crossed a threshold already
        // within the second before the next recorded instant: that drop happened by now too.
        if (dropsAt is { } next && next - now <= TimeSpan.FromSeconds(1))
        {
            var current = ScoreCalculator.Compute(policy, violations, now);
            if (current.Standing < standing)
            {
                changes.Add(new StandingChange(userId, standing, current.Standing, current.Points, current.Permanent, CauseAt(policy, violations, now), now, policy.Version));
                standing = current.Standing;
                dropsAt = current.StandingImprovesAt;
            }
        }

        return (changes, new Recorded(standing, dropsAt));
    }

    /// <summary>The change an event made (null when the standing stayed), and the state recorded after it.</summary>
    public static (StandingChange? Change, Recorded After) After(
        string userId, Score score, Standing recordedStanding, StandingChangeCause cause) =>
        (score.Standing == recordedStanding
            ? null
            : new StandingChange(userId, recordedStanding, score.Standing, score.Points, score.Permanent, cause, score.ComputedAt, score.PolicyVersion),
         new Recorded(score.Standing, score.StandingImprovesAt));

    /// <summary>
    /// Drop instants are rounded up to the second: a violation that passed max_age within the second
    /// before the drop caused it; otherwise the points decayed below the threshold.
    /// </summary>
    private static StandingChangeCause CauseAt(ScoringPolicy policy, IReadOnlyCollection<ScoredViolation> violations, DateTimeOffset at) =>
        violations.Any(v => ExpiresAt(policy, v) is { } expiry && expiry < at && expiry >= at - TimeSpan.FromSeconds(1))
            ? StandingChangeCause.Expiry
            : StandingChangeCause.Decay;

    private static DateTimeOffset? ExpiresAt(ScoringPolicy policy, ScoredViolation violation) =>
        policy.FindCategory(violation.Category) is { } category && !(category.ZeroTolerance && violation.Severity == Severity.Critical)
            ? violation.OccurredAt + policy.MaxAge
            : null;
}
