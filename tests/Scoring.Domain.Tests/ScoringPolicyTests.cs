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

        var problems = broken.Validate();

        Assert.Contains(problems, p => p.StartsWith("version", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("severity_points must increase", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("thresholds must increase", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("max_age", StringComparison.Ordinal));
        Assert.Contains("category 'spam' is listed twice", problems);
        Assert.Contains("category 'spam': weight must be a positive number", problems);
        Assert.Contains("category 'spam': half_life must be positive", problems);
        Assert.Contains(problems, p => p.StartsWith("category name 'Bad Name'", StringComparison.Ordinal));
    }
}
