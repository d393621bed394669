using Scoring.Domain.Policies;

namespace Scoring.Domain.Tests;

public class ScoringPolicyTests
{
    [Fact]
    public void The_default_policy_is_valid()
    {
        Assert.Empty(ScoringPolicy.Default.Validate());
    }

    [Fact]
    public void Only_violent_extremism_is_zero_tolerance_by_default()
    {
        Assert.Equal(["violent_extremism"], ScoringPolicy.Default.Categories.Where(c => c.ZeroTolerance).Select(c => c.Name));
    }

    [Fact]
    public void Validation_names_every_problem()
    {
        var broken = ScoringPolicy.Default with
        {
            Version = "",
            SeverityPoints = new SeverityPoints(5, 4, 40, 100),
            Thresholds = new Thresholds(8, 35, 30, 250),
            MaxAge = TimeSpan.Zero,
            Categories = [new("spam", 1, TimeSpan.FromDays(1)), new("spam", 0, TimeSpan.Zero), new("Bad Name", 1, TimeSpan.FromDays(1))],
        };

        var problems = broken.Validate().Select(p => p.ToString()).ToList();

        Assert.Equal(
            [
                "version: must be 1-64 characters, without control characters or '/', and not start or end with a space",
                "severity_points.medium: must be greater than low",
                "thresholds.suspended: must be greater than restricted",
                "max_age: must be positive and at most 36500 days",
                "categories[1].name: 'spam' is listed twice",
                "categories[1].weight: must be a positive number up to 1e9",
                "categories[1].half_life: must be between 1 second and 36500 days",
                "categories[2].name: 'Bad Name' must match [a-z][a-z0-9_]{0,63}",
            ],
            problems);
    }
}
