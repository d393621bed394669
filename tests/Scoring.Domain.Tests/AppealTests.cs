using Scoring.Domain.Appeals;
using Scoring.Domain.Violations;
using static Scoring.Domain.Tests.Generators;

namespace Scoring.Domain.Tests;

public class AppealTests
{
    private static Violation NewViolation(Severity severity = Severity.High) =>
        Violation.Record(new ViolationReport("mod.queue", "e-1", "u-1", "fraud", severity, null, null, null, "mod-7", false), Policy, "v-1", Now);

    private static Appeal Submit(Violation violation, DateTimeOffset? at = null) =>
        Appeal.Submit(violation, "I did not do this", null, "a-1", Policy, at ?? Now);

    [Fact]
    public void Submitting_opens_the_appeal_with_a_due_date_and_contests_the_violation()
    {
        var violation = NewViolation();

        var appeal = Submit(violation);

        Assert.Equal(AppealState.Submitted, appeal.State);
        Assert.Equal(Now + TimeSpan.FromHours(72), appeal.DueAt);
        Assert.Equal(("a-1", AppealState.Submitted), (violation.AppealId, violation.AppealState));
        Assert.True(violation.ToScored().Contested);
    }

    [Fact]
    public void The_open_states_queries_count_are_exactly_the_states_IsOpen_accepts()
    {
        Assert.Equal(Enum.GetValues<AppealState>().Where(s => s.IsOpen()), AppealStates.Open.Order());
    }

    [Fact]
    public void The_appeal_window_includes_its_last_instant_and_nothing_after()
    {
        var violation = NewViolation();

        Assert.Equal(AppealState.Submitted, Submit(violation, violation.AppealableUntil).State);
        Assert.Throws<DomainException>(() => Submit(NewViolation(), violation.AppealableUntil + TimeSpan.FromTicks(10)));
    }

    [Fact]
    public void Assign_moves_to_review_and_may_reassign_but_not_to_the_maker_of_the_call()
    {
        var violation = NewViolation();
        var appeal = Submit(violation);

        appeal.Assign("rev-1", violation);
        appeal.Assign("rev-2", violation);

        Assert.Equal((AppealState.InReview, "rev-2"), (appeal.State, appeal.Assignee));
        Assert.Throws<DomainException>(() => appeal.Assign("mod-7", violation));
    }

    [Fact]
    public void The_bar_to_deciding_is_the_rule_Decide_enforces()
    {
        var violation = NewViolation();
        var appeal = Submit(violation);

        Assert.Equal(DecisionBar.None, appeal.DecisionBarFor("rev-1", violation));
        Assert.Equal(DecisionBar.OwnCall, appeal.DecisionBarFor("mod-7", violation));
        appeal.Assign("rev-1", violation);
        Assert.Equal(DecisionBar.HeldByAnother, appeal.DecisionBarFor("rev-2", violation));
        Assert.Equal(DecisionBar.None, appeal.DecisionBarFor("rev-1", violation));
        Assert.Throws<DomainException>(() => appeal.Decide("rev-2", AppealDecision.Uphold, Severity.Unspecified, "r", violation, Policy, Now));
        appeal.Decide("rev-1", AppealDecision.Uphold, Severity.Unspecified, "r", violation, Policy, Now);
        Assert.Equal(DecisionBar.Decided, appeal.DecisionBarFor("rev-1", violation));

        var withdrawnViolation = NewViolation();
        var withdrawn = Submit(withdrawnViolation);
        withdrawn.Withdraw(withdrawnViolation, Now);
        Assert.Equal(DecisionBar.NotOpen, withdrawn.DecisionBarFor("rev-1", withdrawnViolation));
        Assert.False(withdrawn.IsOverdueAt(withdrawn.DueAt + TimeSpan.FromDays(1)));
        Assert.True(Submit(NewViolation()).IsOverdueAt(Now + TimeSpan.FromHours(73)));
        // The query form says the same.
        foreach (var (appealed, at) in new[] { (withdrawn, withdrawn.DueAt + TimeSpan.FromDays(1)), (appeal, Now + TimeSpan.FromDays(9)), (Submit(NewViolation()), Now + TimeSpan.FromHours(73)), (Submit(NewViolation()), Now) })
        {
            Assert.Equal(appealed.IsOverdueAt(at), Appeal.OverdueAt(at).Compile()(appealed));
        }
    }

    [Fact]
    public void Only_the_assignee_decides_an_appeal_in_review()
    {
        var violation = NewViolation();
        var appeal = Submit(violation);
        appeal.Assign("rev-1", violation);

        Assert.Throws<DomainException>(() => appeal.Decide("rev-2", AppealDecision.Uphold, Severity.Unspecified, "ok", violation, Policy, Now));
        appeal.Decide("rev-1", AppealDecision.Uphold, Severity.Unspecified, "ok", violation, Policy, Now);

        Assert.Equal(AppealState.Upheld, appeal.State);
        Assert.Equal(ViolationStatus.Active, violation.Status);
        Assert.False(violation.ToScored().Contested);
    }

    [Fact]
    public void Overturning_reverses_the_violation_and_decisions_are_final()
    {
        var violation = NewViolation();
        var appeal = Submit(violation);

        appeal.Decide("rev-1", AppealDecision.Overturn, Severity.Unspecified, "no evidence", violation, Policy, Now);

        Assert.Equal((AppealState.Overturned, "rev-1", "rev-1"), (appeal.State, appeal.Assignee, appeal.DecidedBy));
        Assert.Equal(ViolationStatus.Overturned, violation.Status);
        Assert.Equal(0, violation.PointsAt(Policy, Now));
        Assert.Throws<DomainException>(() => appeal.Decide("rev-1", AppealDecision.Uphold, Severity.Unspecified, "again", violation, Policy, Now));
        Assert.Throws<DomainException>(() => appeal.Withdraw(violation, Now));
        Assert.Throws<DomainException>(() => appeal.Assign("rev-2", violation));
    }

    [Fact]
    public void Reducing_needs_a_lower_severity_and_recomputes_base_points()
    {
        var violation = NewViolation(Severity.High);
        var appeal = Submit(violation);

        Assert.Throws<DomainException>(() => appeal.Decide("rev-1", AppealDecision.Reduce, Severity.High, "same", violation, Policy, Now));
        Assert.Throws<DomainException>(() => appeal.Decide("rev-1", AppealDecision.Reduce, Severity.Critical, "higher", violation, Policy, Now));
        appeal.Decide("rev-1", AppealDecision.Reduce, Severity.Low, "minor", violation, Policy, Now);

        Assert.Equal((AppealState.Reduced, Severity.Low), (appeal.State, appeal.NewSeverity));
        Assert.Equal((Severity.Low, 7.5), (violation.Severity, violation.BasePoints));
    }

    [Fact]
    public void A_retry_of_the_original_report_still_matches_after_a_reduction()
    {
        var report = new ViolationReport("mod.queue", "e-1", "u-1", "fraud", Severity.High, null, null, null, "mod-7", false);
        var violation = Violation.Record(report, Policy, "v-1", Now);

        Submit(violation).Decide("rev-1", AppealDecision.Reduce, Severity.Low, "minor", violation, Policy, Now);

        Assert.Equal((Severity.Low, Severity.High), (violation.Severity, violation.ReportedSeverity));
        Assert.True(violation.IsSameReport(report));
    }

    [Fact]
    public void Nobody_decides_their_own_call()
    {
        var violation = NewViolation();
        var appeal = Submit(violation);

        Assert.Throws<DomainException>(() => appeal.Decide("mod-7", AppealDecision.Overturn, Severity.Unspecified, "mine", violation, Policy, Now));
        Assert.Equal(AppealState.Submitted, appeal.State);
    }

    [Fact]
    public void Withdrawing_closes_an_open_appeal_and_an_overturned_violation_cannot_be_appealed()
    {
        var violation = NewViolation();
        var appeal = Submit(violation);

        appeal.Withdraw(violation, Now);

        Assert.Equal(AppealState.Withdrawn, appeal.State);
        Assert.False(violation.ToScored().Contested);
        var second = Appeal.Submit(violation, "again", null, "a-2", Policy, Now);
        second.Decide("rev-1", AppealDecision.Overturn, Severity.Unspecified, "wrong", violation, Policy, Now);
        Assert.Throws<DomainException>(() => Appeal.Submit(violation, "third", null, "a-3", Policy, Now));
    }
}
