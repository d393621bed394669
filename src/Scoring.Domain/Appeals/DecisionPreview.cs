using Scoring.Domain.Policies;
using Scoring.Domain.Scores;

namespace Scoring.Domain.Appeals;

/// <summary>
/// What deciding an appeal would do to the user's score, computed before it is decided: the same scoring
/// and the same reduction rule (<see cref="ScoringPolicy.BasePoints"/>) that the decision itself applies.
/// </summary>
public static class DecisionPreview
{
    /// <summary>The severities a reduction of <paramref name="current"/> may choose: the lower ones, highest first.</summary>
    public static IReadOnlyList<Severity> ReductionsOf(Severity current) =>
        [.. Enum.GetValues<Severity>().Where(s => s is >= Severity.Low && s < current).OrderDescending()];

    /// <summary>
    /// The score at <paramref name="at"/> if the appeal of <paramref name="violationId"/> were decided so.
    /// <paramref name="counting"/> are the user's counting violations now (the appealed one among them);
    /// once decided, the appealed violation is no longer contested.
    /// </summary>
    public static Score After(
        ScoringPolicy policy, IReadOnlyCollection<ScoredViolation> counting, string violationId,
        AppealDecision decision, Severity newSeverity, DateTimeOffset at)
    {
        var after = new List<ScoredViolation>(counting.Count);
        foreach (var violation in counting)
        {
            if (violation.ViolationId != violationId)
            {
                after.Add(violation);
                continue;
            }

            switch (decision)
            {
                case AppealDecision.Uphold:
                    after.Add(violation with { Contested = false });
                    break;
                case AppealDecision.Overturn:
                    break;
                case AppealDecision.Reduce when policy.FindCategory(violation.Category) is not null && newSeverity < violation.Severity:
                    after.Add(violation with { Severity = newSeverity, Contested = false });
                    break;
                default:
                    throw new DomainException($"{decision} to {newSeverity} is not a decision this appeal can take");
            }
        }

        return ScoreCalculator.Compute(policy, after, at);
    }
}
