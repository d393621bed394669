using Scoring.Domain.Appeals;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;
using static Scoring.Domain.Tests.Generators;

namespace Scoring.Domain.Tests;

public class DecisionPreviewTests
{
    public static TheoryData<AppealDecision, Severity> Decisions() => new()
    {
        { AppealDecision.Uphold, Severity.Unspecified },
        { AppealDecision.Overturn, Severity.Unspecified },
        { AppealDecision.Reduce, Severity.Low },
        { AppealDecision.Reduce, Severity.Medium },
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public void The_preview_is_the_score_the_decision_itself_leaves(AppealDecision decision, Severity newSeverity)
    {
        var at = Now + TimeSpan.FromDays(3);
        var appealed = Record("v-appealed", "fraud", Severity.High, Now);
        var other = Record("v-other", "spam", Severity.Medium, Now - TimeSpan.FromDays(2));
        var appeal = Appeal.Submit(appealed, "not me", null, "a-1", Policy, Now);
        var before = new[] { appealed.ToScored(), other.ToScored() };

        var preview = DecisionPreview.After(Policy, before, appealed.Id, decision, newSeverity, at);
        appeal.Decide("rev-1", decision, newSeverity, "because", appealed, Policy, at);
        var counting = new[] { appealed, other }.Where(v => v.Status == ViolationStatus.Active).Select(v => v.ToScored()).ToArray();
        var actual = ScoreCalculator.Compute(Policy, counting, at);

        Assert.Equal(actual, preview with { Breakdown = actual.Breakdown });
        Assert.False(preview.Contested);
    }

    [Fact]
    public void A_reduction_offers_only_the_lower_severities_highest_first()
    {
        Assert.Equal([Severity.High, Severity.Medium, Severity.Low], DecisionPreview.ReductionsOf(Severity.Critical));
        Assert.Empty(DecisionPreview.ReductionsOf(Severity.Low));
    }

    [Fact]
    public void A_reduction_to_the_same_or_a_higher_severity_is_refused_as_the_decision_would_be()
    {
        var appealed = Record("v-1", "spam", Severity.Medium, Now);

        Assert.Throws<DomainException>(() => DecisionPreview.After(Policy, [appealed.ToScored()], appealed.Id, AppealDecision.Reduce, Severity.High, Now));
    }

    private static Violation Record(string id, string category, Severity severity, DateTimeOffset occurredAt) =>
        Violation.Record(new ViolationReport("mod.queue", "e-" + id, "u-1", category, severity, occurredAt, null, null, "mod-7", false), Policy, id, Now);
}
