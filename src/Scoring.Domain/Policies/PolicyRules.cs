using System.Text.RegularExpressions;

namespace Scoring.Domain.Policies;

/// <summary>One thing wrong with a policy: the field, by its path in the policy (<c>categories[3].half_life</c>), and what.</summary>
public sealed record PolicyProblem(string Field, string Description)
{
    public override string ToString() => $"{Field}: {Description}";
}

/// <summary>What a policy must satisfy before the service uses it (from the file, or published as a version).</summary>
public static partial class PolicyRules
{
    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex CategoryName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex VersionName();

    public const string VersionRule = "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

    public static bool IsVersionName(string? version) => VersionName().IsMatch(version ?? "");

    public static IReadOnlyList<PolicyProblem> Check(ScoringPolicy policy)
    {
        var problems = new List<PolicyProblem>();
        void Require(bool ok, string field, string problem)
        {
            if (!ok)
            {
                problems.Add(new PolicyProblem(field, problem));
            }
        }

        Require(IsVersionName(policy.Version), "version", VersionRule);

        var p = policy.SeverityPoints;
        Require(p is not null, "severity_points", "is required");
        if (p is not null)
        {
            Require(IsPositive(p.Low), "severity_points.low", "must be a positive number");
            // Strictly increasing, so that a lower severity always means fewer points.
            Require(p.Low < p.Medium, "severity_points.medium", "must be greater than low");
            Require(p.Medium < p.High, "severity_points.high", "must be greater than medium");
            Require(p.High < p.Critical && double.IsFinite(p.Critical), "severity_points.critical", "must be a finite number greater than high");
        }

        var t = policy.Thresholds;
        Require(t is not null, "thresholds", "is required");
        if (t is not null)
        {
            Require(IsPositive(t.Warned), "thresholds.warned", "must be a positive number");
            Require(t.Warned < t.Restricted, "thresholds.restricted", "must be greater than warned");
            Require(t.Restricted < t.Suspended, "thresholds.suspended", "must be greater than restricted");
            Require(t.Suspended < t.Banned && double.IsFinite(t.Banned), "thresholds.banned", "must be a finite number greater than suspended");
        }

        Require(policy.MaxAge > TimeSpan.Zero, "max_age", "must be positive");
        Require(policy.AppealWindow > TimeSpan.Zero, "appeal_window", "must be positive");
        Require(policy.ReviewSla > TimeSpan.Zero, "review_sla", "must be positive");

        var categories = policy.Categories ?? [];
        Require(categories.Count > 0, "categories", "must not be empty");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < categories.Count; i++)
        {
            var category = categories[i];
            var name = category?.Name ?? "";
            Require(CategoryName().IsMatch(name), $"categories[{i}].name", $"'{name}' must match [a-z][a-z0-9_]{{0,63}}");
            Require(seen.Add(name), $"categories[{i}].name", $"'{name}' is listed twice");
            Require(category is not null && IsPositive(category.Weight), $"categories[{i}].weight", "must be a positive number");
            Require(category is not null && category.HalfLife > TimeSpan.Zero, $"categories[{i}].half_life", "must be positive");
        }

        return problems;
    }

    private static bool IsPositive(double value) => double.IsFinite(value) && value > 0;
}
