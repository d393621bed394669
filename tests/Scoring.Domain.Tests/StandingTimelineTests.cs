using CsCheck;
using Scoring.Domain.Scores;
using Scoring.Domain.Standings;
using static Scoring.Domain.Tests.Generators;

namespace Scoring.Domain.Tests;

public class StandingTimelineTests
{
    [Fact]
    public void Catching_up_replays_every_drop_in_order_each_at_the_instant_the_standing_fell()
    {
        Gen.Select(AnyViolation.Array[1, 12], Gen.Int[1, 800]).Sample((violations, days) =>
        {
            var start = ScoreCalculator.Compute(Policy, violations, Now);
            var now = Now + TimeSpan.FromDays(days);

            var (changes, after) = StandingTimeline.CatchUp("u", Policy, violations, new(start.Standing, start.StandingImprovesAt), now);

            var previous = start.Standing;
            foreach (var change in changes)
            {
                Assert.Equal(previous, change.PreviousStanding);
                Assert.True(change.Standing < change.PreviousStanding, "time only improves a standing");
                Assert.True(change.ChangedAt <= now);
                // Just before the instant the standing was still the previous one; at it, the new one.
                Assert.Equal(change.PreviousStanding, ScoreCalculator.Compute(Policy, violations, change.ChangedAt.AddSeconds(-1)).Standing);
                Assert.Equal(change.Standing, ScoreCalculator.Compute(Policy, violations, change.ChangedAt).Standing);
                previous = change.Standing;
            }

            Assert.Equal(ScoreCalculator.Compute(Policy, violations, now).Standing, after.Standing);
            Assert.True(after.DropsAt is null || after.DropsAt > now);
        });
    }

    [Fact]
    public void A_drop_instant_recorded_too_early_finds_nothing_and_moves_to_the_real_one()
    {
        ScoredViolation[] violations = [new("v", "spam", Severity.High, Now)];
        var real = ScoreCalculator.Compute(Policy, violations, Now);

        var (changes, after) = StandingTimeline.CatchUp("u", Policy, violations, new(real.Standing, Now + TimeSpan.FromHours(1)), Now + TimeSpan.FromHours(2));

        Assert.Empty(changes);
        Assert.Equal(real.Standing, after.Standing);
        Assert.Equal(real.StandingImprovesAt, after.DropsAt);
    }

    [Fact]
    public void A_drop_made_by_a_violation_passing_max_age_is_expiry_and_one_made_by_decay_is_decay()
    {
        // spam CRITICAL 100 points halves every 14 days: decay takes it through the tiers down to WARNED;
        // a fraud CRITICAL (150, half-life 90 days) still holds WARNED (9 points) when it passes max_age.
        ScoredViolation[] decaying = [new("d", "spam", Severity.Critical, Now)];
        ScoredViolation[] expiring = [new("e", "fraud", Severity.Critical, Now)];

        var decayed = StandingTimeline.CatchUp("u", Policy, decaying, Recorded(decaying), Now + TimeSpan.FromDays(400)).Changes;
        var expired = StandingTimeline.CatchUp("u", Policy, expiring, Recorded(expiring), Now + TimeSpan.FromDays(400)).Changes;

        Assert.All(decayed, c => Assert.Equal(StandingChangeCause.Decay, c.Cause));
        Assert.Equal(StandingChangeCause.Expiry, expired[^1].Cause);
        Assert.Equal(Standing.Good, expired[^1].Standing);
        Assert.Equal(Now + Policy.MaxAge, expired[^1].ChangedAt, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void An_event_is_a_change_only_when_the_standing_moves()
    {
        var same = ScoreCalculator.Compute(Policy, [new("v", "spam", Severity.Medium, Now)], Now);

        var (unchanged, _) = StandingTimeline.After("u", same, Standing.Warned, StandingChangeCause.ViolationRecorded);
        var (changed, after) = StandingTimeline.After("u", same, Standing.Good, StandingChangeCause.ViolationRecorded);

        Assert.Null(unchanged);
        Assert.Equal((Standing.Good, Standing.Warned, Now), (changed!.PreviousStanding, changed.Standing, changed.ChangedAt));
        Assert.Equal(same.StandingImprovesAt, after.DropsAt);
    }

    private static StandingTimeline.Recorded Recorded(ScoredViolation[] violations)
    {
        var score = ScoreCalculator.Compute(Policy, violations, Now);
        return new(score.Standing, score.StandingImprovesAt);
    }
}
