using CsCheck;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using static Scoring.Domain.Tests.Generators;

namespace Scoring.Domain.Tests;

public class ScoreCalculatorPropertyTests
{
    [Fact]
    public void Arrival_order_does_not_change_the_score()
    {
        Gen.Select(AnyViolation.Array[0, 25], Gen.Int.Array[25]).Sample((violations, keys) =>
        {
            var shuffled = violations.Select((v, i) => (v, key: keys[i])).OrderBy(p => p.key).Select(p => p.v).ToArray();

            var inOrder = ScoreCalculator.Compute(Policy, violations, Now);
            var outOfOrder = ScoreCalculator.Compute(Policy, shuffled, Now);

            Assert.Equal(inOrder.Points, outOfOrder.Points, 1e-9);
            Assert.Equal(inOrder.Standing, outOfOrder.Standing);
            Assert.Equal(inOrder.ActiveViolations, outOfOrder.ActiveViolations);
            Assert.Equal(inOrder.Permanent, outOfOrder.Permanent);
            Assert.Equal(inOrder.StandingImprovesAt, outOfOrder.StandingImprovesAt);
        });
    }

    [Fact]
    public void Points_halve_at_each_half_life()
    {
        Gen.Select(AnyViolation, Gen.Int[1, 6]).Sample((violation, halvings) =>
        {
            var halfLife = Policy.FindCategory(violation.Category)!.HalfLife;
            var fresh = violation with { OccurredAt = Now };
            var later = Now + halfLife * halvings;
            if (later - Now > Policy.MaxAge)
            {
                return;
            }

            var basePoints = Policy.BasePoints(Policy.FindCategory(violation.Category)!, violation.Severity);
            var expected = basePoints / Math.Pow(2, halvings);
            Assert.Equal(expected, ScoreCalculator.PointsAt(Policy, fresh, later), 1e-9);
            Assert.Equal(basePoints, ScoreCalculator.PointsAt(Policy, fresh, Now), 1e-9);
        });
    }

    [Fact]
    public void A_violation_counts_until_max_age_and_nothing_after()
    {
        Transient.Sample(violation =>
        {
            var atLimit = violation.OccurredAt + Policy.MaxAge;

            Assert.True(ScoreCalculator.PointsAt(Policy, violation, atLimit) > 0);
            Assert.Equal(0, ScoreCalculator.PointsAt(Policy, violation, atLimit + TimeSpan.FromTicks(1)));
            Assert.True(ScoreCalculator.IsExpired(Policy, violation, atLimit + TimeSpan.FromTicks(1)));
        });
    }

    [Fact]
    public void A_zero_tolerance_critical_violation_bans_permanently_while_its_points_decay()
    {
        Gen.Select(AnyViolation.Array[0, 10], Gen.Long[0, TimeSpan.FromDays(3650).Ticks]).Sample((others, ageTicks) =>
        {
            var extremism = new ScoredViolation("zt", "violent_extremism", Severity.Critical, Now - TimeSpan.FromTicks(ageTicks));
            var score = ScoreCalculator.Compute(Policy, [.. others, extremism], Now);

            Assert.Equal(Standing.Banned, score.Standing);
            Assert.True(score.Permanent);
            Assert.Null(score.StandingImprovesAt);
            Assert.Equal(200 * Math.Pow(2, -(double)ageTicks / TimeSpan.FromDays(180).Ticks),
                ScoreCalculator.PointsAt(Policy, extremism, Now), 1e-9);
        });
    }

    [Fact]
    public void Standing_improves_at_is_the_first_instant_the_standing_drops()
    {
        Transient.Array[1, 12].Sample(violations =>
        {
            var score = ScoreCalculator.Compute(Policy, violations, Now);
            if (score.Standing == Standing.Good)
            {
                Assert.Null(score.StandingImprovesAt);
                return;
            }

            var drop = Assert.NotNull(score.StandingImprovesAt);
            Assert.True(drop > Now);
            Assert.True(StandingAt(violations, drop) < score.Standing, "the standing is lower at standing_improves_at");

            // Accurate to the minute: one minute earlier (but not before now) the standing still holds.
            var justBefore = drop - TimeSpan.FromMinutes(1);
            if (justBefore > Now)
            {
                Assert.Equal(score.Standing, StandingAt(violations, justBefore));
            }
        });
    }

    [Fact]
    public void Standing_improves_at_is_found_to_the_second_when_violations_occur_after_the_instant_scored()
    {
        // As the catch-up of drops scores a user at an instant a drop was due: the violations recorded since
        // occurred after it, and count in full until they occur.
        Gen.Select(Transient.Array[1, 40], Gen.Long[0, TimeSpan.FromDays(400).Ticks]).Sample((violations, earlierTicks) =>
            AssertFoundToTheSecond(Policy, violations, Now - TimeSpan.FromTicks(earlierTicks)));
    }

    [Fact]
    public void Standing_improves_at_is_found_to_the_second_with_half_lives_of_an_hour()
    {
        // Violations months apart are thousands of half-lives apart: no power of two may leave a double's range.
        var hourly = Policy with { Categories = [.. Policy.Categories.Select(c => c with { HalfLife = TimeSpan.FromHours(1) })] };
        Gen.Select(Transient.Array[1, 40], Gen.Int[0, 39], Gen.Long[0, TimeSpan.FromHours(2).Ticks]).Sample((violations, pick, afterTicks) =>
            AssertFoundToTheSecond(hourly, violations, violations[pick % violations.Length].OccurredAt + TimeSpan.FromTicks(afterTicks)));
    }

    private static void AssertFoundToTheSecond(ScoringPolicy policy, ScoredViolation[] violations, DateTimeOffset at)
    {
        var score = ScoreCalculator.Compute(policy, violations, at);
        if (score.StandingImprovesAt is not { } drop)
        {
            return;
        }

        Assert.True(drop > at);
        Assert.True(ScoreCalculator.Compute(policy, violations, drop).Standing < score.Standing, "the standing is lower at standing_improves_at");
        var justBefore = drop - TimeSpan.FromSeconds(1);
        if (justBefore > at)
        {
            Assert.Equal(score.Standing, ScoreCalculator.Compute(policy, violations, justBefore).Standing);
        }
    }

    [Fact]
    public void Standing_improves_at_does_not_move_between_reads()
    {
        Gen.Select(Transient.Array[1, 12], Gen.Double[0, 1]).Sample((violations, fraction) =>
        {
            var first = ScoreCalculator.Compute(Policy, violations, Now);
            if (first.StandingImprovesAt is not { } drop)
            {
                return;
            }

            // Any later read before the drop reports the same instant.
            var later = Now + (drop - Now) * fraction * 0.99;
            Assert.Equal(drop, ScoreCalculator.Compute(Policy, violations, later).StandingImprovesAt);
        });
    }

    [Fact]
    public void Points_never_rise_as_time_passes_without_new_violations()
    {
        Gen.Select(AnyViolation.Array[0, 15], Gen.Long[0, TimeSpan.FromDays(400).Ticks]).Sample((violations, stepTicks) =>
        {
            var now = ScoreCalculator.Compute(Policy, violations, Now);
            var later = ScoreCalculator.Compute(Policy, violations, Now + TimeSpan.FromTicks(stepTicks));

            Assert.True(later.Points <= now.Points + 1e-9);
            Assert.True(later.Standing <= now.Standing);
            Assert.True(now.Points >= 0);
        });
    }
}
