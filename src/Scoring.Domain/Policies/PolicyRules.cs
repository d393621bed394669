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

    [GeneratedRegex("^[a-z0-9._:-]{1,64}$")]
    private static partial Regex SourceName();

    // Any text a file could have named a version before versions were stored, except what breaks a URL path.
    [GeneratedRegex(@"^[^\s\p{C}/][^\p{C}/]{0,62}[^\s\p{C}/]$|^[^\s\p{C}/]$")]
    private static partial Regex VersionName();

    /// <summary>Longest duration a policy may name: longer ones overflow instants.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(36_500);

    /// <summary>Largest number (points, weight, threshold) a policy may name: their products stay finite.</summary>
    public const double MaxNumber = 1e9;

    public const string VersionRule = "must be 1-64 characters, without control characters or '/', and not start or end with a space";

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
            Require(p.High < p.Critical && p.Critical <= MaxNumber, "severity_points.critical", $"must be greater than high and at most {MaxNumber:0e0}");
        }

        var t = policy.Thresholds;
        Require(t is not null, "thresholds", "is required");
        if (t is not null)
        {
            Require(IsPositive(t.Warned), "thresholds.warned", "must be a positive number");
            Require(t.Warned < t.Restricted, "thresholds.restricted", "must be greater than warned");
            Require(t.Restricted < t.Suspended, "thresholds.suspended", "must be greater than restricted");
            Require(t.Suspended < t.Banned && t.Banned <= MaxNumber, "thresholds.banned", $"must be greater than suspended and at most {MaxNumber:0e0}");
        }

        RequireDuration(policy.MaxAge, "max_age");
        RequireDuration(policy.AppealWindow, "appeal_window");
        RequireDuration(policy.ReviewSla, "review_sla");

        var categories = policy.Categories ?? [];
        Require(categories.Count > 0, "categories", "must not be empty");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < categories.Count; i++)
        {
            var category = categories[i];
            var name = category?.Name ?? "";
            Require(CategoryName().IsMatch(name), $"categories[{i}].name", $"'{name}' must match [a-z][a-z0-9_]{{0,63}}");
            Require(seen.Add(name), $"categories[{i}].name", $"'{name}' is listed twice");
            Require(category is not null && IsPositive(category.Weight), $"categories[{i}].weight", $"must be a positive number up to {MaxNumber:0e0}");
            Require(category is not null && category.HalfLife >= TimeSpan.FromSeconds(1) && category.HalfLife <= MaxDuration, $"categories[{i}].half_life", "must be between 1 second and 36500 days");
            Require(string.IsNullOrEmpty(category?.DsaCategory) || Reports.Dsa.StatementCategories.Contains(category.DsaCategory), $"categories[{i}].dsa_category",
                $"'{category?.DsaCategory}' is not a statement category of the DSA transparency database (STATEMENT_CATEGORY_SCAMS_AND_FRAUD, …)");
        }

        foreach (var (source, type) in policy.SourceTypes ?? new Dictionary<string, string>())
        {
            Require(SourceName().IsMatch(source ?? ""), $"source_types[{source}]", "the source must be 1-64 of a-z, 0-9, '.', '_', ':' and '-', as in RecordViolation");
            Require(Reports.Dsa.SourceTypes.Contains(type ?? ""), $"source_types[{source}]",
                $"'{type}' is not a source type of the DSA transparency database ({string.Join(", ", Reports.Dsa.SourceTypes.Order(StringComparer.Ordinal))})");
        }

        return problems;

        void RequireDuration(TimeSpan span, string field) =>
            Require(span > TimeSpan.Zero && span <= MaxDuration, field, "must be positive and at most 36500 days");
    }

    private static bool IsPositive(double value) => double.IsFinite(value) && value > 0 && value <= MaxNumber;
}
