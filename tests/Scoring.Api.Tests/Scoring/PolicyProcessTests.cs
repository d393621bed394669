using System.Diagnostics;
using Scoring.Api.Grpc;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;
using ScoringPolicy = Scoring.Domain.Policies.ScoringPolicy;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// The policy lifecycle against the service run as real processes on one PostgreSQL, with real clocks:
/// an activation reaching the other process within 10 s, and a simulation whose process is killed with
/// SIGKILL resumed by another. Every wait is bounded.
/// </summary>
public sealed class PolicyProcessTests(TestServers servers)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private async Task<Dictionary<string, string>> EnvironmentAsync(string? database = null, params (string Key, string Value)[] more)
    {
        var environment = new Dictionary<string, string>
        {
            ["Auth__Mode"] = "None",
            ["Auth__AllowAnonymous"] = "true",
            ["Database__Provider"] = "Postgres",
            ["ConnectionStrings__Scoring"] = database ?? await servers.Postgres.CreateDatabaseAsync(),
            ["ConnectionStrings__Redis"] = servers.Redis.ConnectionString,
            ["RateLimit__Anonymous__PermitsPerSecond"] = "100000",
            ["RateLimit__Anonymous__Burst"] = "100000",
        };
        foreach (var (key, value) in more)
        {
            environment[key] = value;
        }

        return environment;
    }

    private static ScoringPolicy Campaign(string version) => ScoringPolicy.Default with
    {
        Version = version,
        Categories = [.. ScoringPolicy.Default.Categories.Select(c => c.Name == "fraud" ? c with { Weight = 3.0 } : c)],
    };

    private static async Task<string> PublishAsync(ServerProcess service, ScoringPolicy policy)
    {
        await service.Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { Policy = policy.ToProto() }, cancellationToken: Token);
        await service.Policies.PublishPolicyDraftAsync(new PublishPolicyDraftRequest { Version = policy.Version }, cancellationToken: Token);
        return policy.Version;
    }

    [Fact]
    public async Task An_activation_on_one_process_is_served_by_the_other_within_ten_seconds()
    {
        var environment = await EnvironmentAsync();
        using var one = await ServerProcess.StartAsync(environment);
        using var two = await ServerProcess.StartAsync(environment);
        var user = NewUserId();
        await one.Scoring.RecordViolationAsync(Violation(user, "fraud", Severity.High), cancellationToken: Token);
        // The other process caches the state under the version it serves now.
        var before = await two.Scoring.GetScoreAsync(new GetScoreRequest { UserId = user }, cancellationToken: Token);
        var candidate = await PublishAsync(one, Campaign("campaign-" + Guid.NewGuid().ToString("N")[..6]));

        var clock = Stopwatch.StartNew();
        await one.Policies.ActivatePolicyAsync(new ActivatePolicyRequest { Version = candidate, Reason = "campaign" }, cancellationToken: Token);
        UserScore after;
        do
        {
            Assert.True(clock.Elapsed < Bound, "the other process never served the new version");
            after = await two.Scoring.GetScoreAsync(new GetScoreRequest { UserId = user }, cancellationToken: Token);
        }
        while (after.PolicyVersion != candidate);
        var seen = clock.Elapsed;

        Assert.Equal(ScoringPolicy.Default.Version, before.PolicyVersion);
        Assert.Equal(60, before.Points, 0.01);
        Assert.True(seen < TimeSpan.FromSeconds(10), $"seen after {seen}");
        // Not the state cached under the old version: fraud HIGH under the campaign is 40 × 3.
        Assert.Equal(120, after.Points, 0.01);
    }

    [Fact]
    public async Task A_simulation_whose_process_is_killed_is_resumed_by_another_and_counts_each_user_once()
    {
        // Small pages with a pause between them, so the kill lands mid-run; a short lease, so the takeover is quick.
        var environment = await EnvironmentAsync(null, ("Policies__JobPageSize", "5"), ("Policies__JobPagePause", "00:00:00.300"), ("Policies__JobLease", "00:00:02"));
        using var one = await ServerProcess.StartAsync(environment);
        var users = Enumerable.Range(0, 200).Select(_ => NewUserId()).ToArray();
        foreach (var chunk in users.Chunk(100))
        {
            var batch = new RecordViolationsRequest();
            batch.Violations.AddRange(chunk.SelectMany((user, i) => (RecordViolationRequest[])[
                Violation(user, i % 2 == 0 ? "fraud" : "spam", (Severity)(1 + (i % 4))),
                Violation(user, "harassment", Severity.Medium)]));
            var recorded = await one.Scoring.RecordViolationsAsync(batch, cancellationToken: Token);
            Assert.All(recorded.Results, r => Assert.Null(r.Error));
        }

        var candidate = await PublishAsync(one, Campaign("killed-" + Guid.NewGuid().ToString("N")[..6]));
        var started = await one.Policies.StartPolicySimulationAsync(new StartPolicySimulationRequest { CandidateVersion = candidate }, cancellationToken: Token);
        var clock = Stopwatch.StartNew();
        PolicySimulation progress;
        do
        {
            Assert.True(clock.Elapsed < Bound, "the simulation never started");
            progress = await one.Policies.GetPolicySimulationAsync(new GetPolicySimulationRequest { SimulationId = started.SimulationId }, cancellationToken: Token);
        }
        while (progress.UsersDone < 10);

        one.Crash();
        var resumedEnvironment = new Dictionary<string, string>(environment) { ["Policies__JobPagePause"] = "00:00:00", ["Policies__JobPageSize"] = "50" };
        using var two = await ServerProcess.StartAsync(resumedEnvironment);
        PolicySimulation finished;
        do
        {
            Assert.True(clock.Elapsed < 2 * Bound, "the simulation was never resumed");
            finished = await two.Policies.GetPolicySimulationAsync(new GetPolicySimulationRequest { SimulationId = started.SimulationId }, cancellationToken: Token);
        }
        while (finished.State is PolicySimulationState.Pending or PolicySimulationState.Running);

        // The same question asked afresh of the surviving process, start to end.
        var fresh = await two.Policies.StartPolicySimulationAsync(new StartPolicySimulationRequest { CandidateVersion = candidate, AsOf = finished.AsOf }, cancellationToken: Token);
        PolicySimulation again;
        do
        {
            Assert.True(clock.Elapsed < 3 * Bound, "the second simulation never finished");
            again = await two.Policies.GetPolicySimulationAsync(new GetPolicySimulationRequest { SimulationId = fresh.SimulationId }, cancellationToken: Token);
        }
        while (again.State is PolicySimulationState.Pending or PolicySimulationState.Running);

        Assert.InRange(progress.UsersDone, 10, 199);
        Assert.Equal((PolicySimulationState.Succeeded, 200L, 200L), (finished.State, finished.UsersDone, finished.Result.Users));
        Assert.Equal(200, finished.Result.Transitions.Sum(t => t.Users));
        Assert.True(finished.Result.UsersPointsChanged > 0);
        Assert.Equal(again.Result, finished.Result);
    }
}
