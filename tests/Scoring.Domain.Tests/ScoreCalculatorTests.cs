using Scoring.Domain.Scores;
using static Scoring.Domain.Tests.Generators;

namespace Scoring.Domain.Tests;

public class ScoreCalculatorTests
{
    private static ScoredViolation Fresh(string category, Severity severity, TimeSpan age = default) =>
        new("v", category, severity, Now - age);

    [Fact]
    public void A_user_with_no_violations_is_in_good_standing_with_zero_points()
    {
        var score = ScoreCalculator.Compute(Policy, [], Now);

        Assert.Equal(0, score.Points);
        Assert.Equal(Standing.Good, score.Standing);
        Assert.Equal(0, score.ActiveViolations);
        Assert.Null(score.StandingImprovesAt);
    }

    [Theory]
    [InlineData("spam", Severity.Low, 5, Standing.Good)]
    [InlineData("spam", Severity.Medium, 15, Standing.Warned)]
    [InlineData("harassment", Severity.High, 40, Standing.Restricted)]
    [InlineData("fraud", Severity.High, 60, Standing.Restricted)]
    [InlineData("harassment", Severity.Critical, 100, Standing.Suspended)]
    [InlineData("hate_speech", Severity.Critical, 150, Standing.Suspended)]
    [InlineData("privacy_violation", Severity.Medium, 18, Standing.Warned)]
    public void A_fresh_violation_scores_severity_points_times_weight(string category, Severity severity, double points, Standing standing)
    {
        var score = ScoreCalculator.Compute(Policy, [Fresh(category, severity)], Now);

        Assert.Equal(points, score.Points, 1e-9);
        Assert.Equal(standing, score.Standing);
        Assert.Equal(1, score.ActiveViolations);
    }

    [Fact]
    public void Standing_reaches_the_highest_tier_whose_threshold_the_points_meet()
    {
        Assert.Equal(Standing.Good, Policy.StandingFor(7.999));
        Assert.Equal(Standing.Warned, Policy.StandingFor(8));
        Assert.Equal(Standing.Restricted, Policy.StandingFor(35));
        Assert.Equal(Standing.Suspended, Policy.StandingFor(90));
        Assert.Equal(Standing.Banned, Policy.StandingFor(250));
    }

    [Fact]
    public void A_fresh_high_violation_restricts_for_days_not_an_instant()
    {
        var score = ScoreCalculator.Compute(Policy, [Fresh("spam", Severity.High)], Now);

        // 40 × 2^(−t/14d) falls below 35 after 14 × log2(40/35) ≈ 2.697 days.
        var expected = Now + TimeSpan.FromDays(14 * Math.Log2(40.0 / 35.0));
        Assert.Equal(Standing.Restricted, score.Standing);
        Assert.InRange(score.StandingImprovesAt!.Value, expected - TimeSpan.FromSeconds(2), expected + TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void Standing_improves_at_expiry_when_decay_alone_would_not_drop_it_sooner()
    {
        // A CRITICAL fraud (150 points, 90-day half-life) 360 days old still has ≈ 9.4 points (WARNED);
        // decay would take it under 8 after ≈ 381 days, but it expires at 365.
        var score = ScoreCalculator.Compute(Policy, [Fresh("fraud", Severity.Critical, TimeSpan.FromDays(360))], Now);

        Assert.Equal(Standing.Warned, score.Standing);
        var expiry = Now + TimeSpan.FromDays(5);
        Assert.InRange(score.StandingImprovesAt!.Value, expiry, expiry + TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void A_non_critical_violation_in_a_zero_tolerance_category_is_not_permanent()
    {
        var score = ScoreCalculator.Compute(Policy, [Fresh("violent_extremism", Severity.High, TimeSpan.FromDays(366))], Now);

        Assert.False(score.Permanent);
        Assert.Equal(0, score.Points);
        Assert.Equal(Standing.Good, score.Standing);
    }

    [Fact]
    public void Breakdown_lists_each_contributing_violation_only_when_asked()
    {
        ScoredViolation[] violations =
        [
            Fresh("spam", Severity.Medium) with { ViolationId = "a" },
            Fresh("fraud", Severity.Low, TimeSpan.FromDays(90)) with { ViolationId = "b" },
            Fresh("spam", Severity.High, TimeSpan.FromDays(400)) with { ViolationId = "expired" },
        ];

        var without = ScoreCalculator.Compute(Policy, violations, Now);
        var with = ScoreCalculator.Compute(Policy, violations, Now, includeBreakdown: true);

        Assert.Empty(without.Breakdown);
        Assert.Equal(["a", "b"], with.Breakdown.Select(c => c.Violation.ViolationId));
        Assert.Equal(3.75, with.Breakdown[1].CurrentPoints, 1e-9);
        Assert.Equal(TimeSpan.FromDays(90), with.Breakdown[1].HalfLife);
        Assert.Equal(with.Points, with.Breakdown.Sum(c => c.CurrentPoints), 1e-9);
    }
}
