using Scoring.Api.Infrastructure.Policies;
using Scoring.Api.Tests.Infrastructure;
using Scoring.Domain.Policies;
using Scoring.V1;
using CategoryPolicy = Scoring.Domain.Policies.CategoryPolicy;
using Thresholds = Scoring.Domain.Policies.Thresholds;

namespace Scoring.Api.Tests.Scoring;

public sealed class PolicyTests
{
    private static readonly string Example = Repository.File("src", "Scoring.Api", "policy.example.json");

    [Fact]
    public void The_example_policy_file_is_the_default_policy()
    {
        var loaded = PolicyFile.Load(Example);

        Assert.Equal(PolicyFile.Serialize(ScoringPolicy.Default), PolicyFile.Serialize(loaded));
    }

    [Theory]
    [InlineData("{", "is not valid JSON")]
    [InlineData("null", "is empty")]
    [InlineData("""{"version":"x","severity_points":{"low":5,"medium":15,"high":40,"critical":100},"categories":[],"thresholds":{"warned":8,"restricted":35,"suspended":90,"banned":250},"max_age":"365.00:00:00","appeal_window":"180.00:00:00"}""", "categories: must not be empty")]
    [InlineData("""{"version":"x","surprise":1}""", "surprise")]
    public void An_invalid_policy_is_refused_with_a_message_naming_the_problem(string json, string expected)
    {
        var error = Assert.Throws<InvalidPolicyException>(() => PolicyFile.Parse(json, "test.json"));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("test.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_file_replaces_the_default_policy()
    {
        var directory = Directory.CreateTempSubdirectory("scoring-policy-").FullName;
        var file = Path.Combine(directory, "policy.json");
        var custom = ScoringPolicy.Default with
        {
            Version = "custom-1",
            Categories = [new CategoryPolicy("scam", 3.0, TimeSpan.FromDays(7))],
        };
        await File.WriteAllTextAsync(file, PolicyFile.Serialize(custom), TestContext.Current.CancellationToken);

        using var app = new ScoringApp(new()
        {
            ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(directory, "scoring.db")}",
            ["Scoring:PolicyFile"] = file,
        });
        var policy = await app.Scoring.GetPolicyAsync(new GetPolicyRequest());
        var recorded = await app.Scoring.RecordViolationAsync(Requests.Violation(Requests.NewUserId(), "scam", Severity.Low));

        Assert.Equal("custom-1", policy.Version);
        Assert.Equal(["scam"], policy.Categories.Select(c => c.Name));
        Assert.Equal(15, recorded.Violation.BasePoints);
        Assert.Equal("custom-1", recorded.Score.PolicyVersion);
        await Requests.AssertInvalid("category", () => app.Scoring.RecordViolationAsync(Requests.Violation(Requests.NewUserId(), "spam")).ResponseAsync);
    }

    [Fact]
    public async Task Once_versions_are_stored_the_active_one_scores_and_a_file_with_other_rules_changes_nothing_but_is_warned_of()
    {
        var directory = Directory.CreateTempSubdirectory("scoring-policy-").FullName;
        var database = $"Data Source={Path.Combine(directory, "scoring.db")}";
        var file = Path.Combine(directory, "policy.json");
        File.WriteAllText(file, PolicyFile.Serialize(ScoringPolicy.Default with { Version = "from-file-2", ReviewSla = TimeSpan.FromHours(24) }));
        using (var first = new ScoringApp(new() { ["ConnectionStrings:Scoring"] = database }))
        {
            _ = first.Server;
        }

        using var second = new ScoringApp(new() { ["ConnectionStrings:Scoring"] = database, ["Scoring:PolicyFile"] = file });
        var versions = await new V1.Policies.PoliciesClient(second.Channel).ListPolicyVersionsAsync(new V1.ListPolicyVersionsRequest(), cancellationToken: TestContext.Current.CancellationToken);

        var only = Assert.Single(versions.Versions);
        Assert.Equal((ScoringPolicy.Default.Version, V1.PolicyVersionState.Active), (only.Version, only.State));
        Assert.Contains(second.Logs.Entries, e => e.Message.StartsWith("The configured policy from-file-2", StringComparison.Ordinal));
        var scoring = await second.Scoring.GetPolicyAsync(new V1.GetPolicyRequest(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal((ScoringPolicy.Default.Version, 72.0), (scoring.Version, scoring.ReviewSla.ToTimeSpan().TotalHours));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void An_invalid_policy_file_stops_start_up_with_the_problem_named()
    {
        var directory = Directory.CreateTempSubdirectory("scoring-policy-").FullName;
        var file = Path.Combine(directory, "policy.json");
        File.WriteAllText(file, PolicyFile.Serialize(ScoringPolicy.Default with { Thresholds = new Thresholds(8, 35, 30, 250) }));
        using var app = new ScoringApp(new()
        {
            ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(directory, "scoring.db")}",
            ["Scoring:PolicyFile"] = file,
        });

        var error = Assert.ThrowsAny<Exception>(() => app.Server);

        Assert.Contains("thresholds.suspended: must be greater than restricted", error.ToString(), StringComparison.Ordinal);
    }
}
