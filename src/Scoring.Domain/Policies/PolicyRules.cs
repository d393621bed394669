using System.Text.RegularExpressions;

namespace Scoring.Domain.Policies;

/// <summary>What a policy must satisfy before the service starts with it.</summary>
internal static partial class PolicyRules
{
    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex CategoryName();

    public static IReadOnlyList<string> Check(ScoringPolicy policy)
    {
        var problems = new List<string>();
        void Require(bool ok, string problem)
        {
            if (!ok)
            {
                problems.Add(problem);
            }
        }

        Require(!string.IsNullOrWhiteSpace(policy.Version) && policy.Version.Length <= 64, "version must be 1-64 characters");

        var p = policy.SeverityPoints;
        Require(p is not null, "severity_points is required");
        if (p is not null)
        {
            Require(IsPositive(p.Low), "severity_points.low must be a positive number");
            // Strictly increasing, so that a lower severity always means fewer points.
            Require(p.Low < p.Medium && p.Medium < p.High && p.High < p.Critical,
                "severity_points must increase strictly from low to critical");
        }

        var t = policy.Thresholds;
        Require(t is not null, "thresholds is required");
        if (t is not null)
        {
            Require(IsPositive(t.Warned), "thresholds.warned must be a positive number");
            Require(t.Warned < t.Restricted && t.Restricted < t.Suspended && t.Suspended < t.Banned,
                "thresholds must increase strictly from warned to banned");
        }

        Require(policy.MaxAge > TimeSpan.Zero, "max_age must be positive");
        Require(policy.AppealWindow > TimeSpan.Zero, "appeal_window must be positive");
        Require(policy.ReviewSla > TimeSpan.Zero, "review_sla must be positive");

        var categories = policy.Categories ?? [];
        Require(categories.Count > 0, "categories must not be empty");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var category in categories)
        {
            var name = category.Name ?? "";
            Require(CategoryName().IsMatch(name), $"category name '{name}' must match [a-z][a-z0-9_]{{0,63}}");
            Require(seen.Add(name), $"category '{name}' is listed twice");
            Require(IsPositive(category.Weight), $"category '{name}': weight must be a positive number");
            Require(category.HalfLife > TimeSpan.Zero, $"category '{name}': half_life must be positive");
        }

        return problems;
    }

    private static bool IsPositive(double value) => double.IsFinite(value) && value > 0;
}
