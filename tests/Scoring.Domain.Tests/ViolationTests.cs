using Scoring.Domain.Violations;
using static Scoring.Domain.Tests.Generators;

namespace Scoring.Domain.Tests;

public class ViolationTests
{
    private static readonly ViolationReport Report = new("mod.queue", "e-1", "u-1", "fraud", Severity.High, null, "cid:1", "reason", "mod-7", false);

    [Fact]
    public void Recording_fixes_base_points_occurrence_and_appeal_window()
    {
        var violation = Violation.Record(Report, Policy, "id-1", Now);

        Assert.Equal(60, violation.BasePoints);
        Assert.Equal(Now, violation.OccurredAt);
        Assert.Equal(Now, violation.RecordedAt);
        Assert.Equal(Now + TimeSpan.FromDays(180), violation.AppealableUntil);
        Assert.Equal(ViolationStatus.Active, violation.Status);
    }

    [Fact]
    public void An_unknown_category_is_refused()
    {
        Assert.Throws<DomainException>(() => Violation.Record(Report with { Category = "nope" }, Policy, "id", Now));
    }

    [Fact]
    public void A_retry_without_occurred_at_is_the_same_report_but_a_changed_field_is_not()
    {
        var violation = Violation.Record(Report with { OccurredAt = Now - TimeSpan.FromHours(1) }, Policy, "id", Now);

        Assert.True(violation.IsSameReport(Report));
        Assert.True(violation.IsSameReport(Report with { OccurredAt = Now - TimeSpan.FromHours(1) }));
        Assert.False(violation.IsSameReport(Report with { OccurredAt = Now }));
        Assert.False(violation.IsSameReport(Report with { Severity = Severity.Low }));
        Assert.False(violation.IsSameReport(Report with { Note = "other" }));
        Assert.False(violation.IsSameReport(Report with { UserId = "u-2" }));
    }

    [Fact]
    public void An_active_violation_reads_as_expired_after_max_age()
    {
        var violation = Violation.Record(Report, Policy, "id", Now);

        Assert.Equal(ViolationStatus.Active, violation.StatusAt(Policy, Now + Policy.MaxAge));
        Assert.Equal(ViolationStatus.Expired, violation.StatusAt(Policy, Now + Policy.MaxAge + TimeSpan.FromSeconds(1)));
        Assert.Equal(0, violation.PointsAt(Policy, Now + Policy.MaxAge + TimeSpan.FromSeconds(1)));
    }
}
