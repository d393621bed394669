using System.Globalization;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Tests.Infrastructure;
using Scoring.Faults.Tests.Checks;
using Scoring.Faults.Tests.Infrastructure;
using Scoring.Faults.Tests.Scenarios;
using Scoring.V1;
using static Scoring.Faults.Tests.Scenarios.FaultRun;

namespace Scoring.Faults.Tests;

/// <summary>
/// Two service processes on one PostgreSQL and a Redis Cluster of three masters with a replica each,
/// under 16 writers: the master holding the scenario's users' entries is killed with SIGKILL, and the
/// cluster promotes its replica. No acknowledged write may be lost or doubled, no call answered
/// INTERNAL, and both processes must serve every user's recomputed score within 15 s after the
/// writers drain (the promotion is awaited inside the fault).
/// </summary>
public sealed class RedisClusterFailoverTests(TestServers servers)
{
    /// <summary>Where the last run's summary line is written.</summary>
    public const string SummaryFile = "redis-cluster-failover-summary.txt";

    private static readonly TimeSpan PromotionWithin = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 300_000)]
    public async Task Acknowledged_reports_survive_a_master_killed_and_every_process_serves_recomputed_scores()
    {
        // A cluster of its own: this test kills one of its masters.
        await using var cluster = await RedisClusterServer.StartNewAsync(nodeTimeout: TimeSpan.FromSeconds(2));
        var connectionString = await servers.Postgres.CreateDatabaseAsync();
        var environment = ServiceProcess.Settings(connectionString, cluster.ConnectionString);
        // As production runs it: a cache write counts once the master's replica holds it.
        environment["Cache__WriteReplicas"] = "1";
        using var first = new ServiceProcess("process A", environment);
        using var second = new ServiceProcess("process B", environment);
        await first.StartAsync();
        await second.StartAsync();
        ServiceProcess[] processes = [first, second];
        var policy = await first.Scoring.GetPolicyAsync(new GetPolicyRequest(), deadline: DateTime.UtcNow + CallDeadline, cancellationToken: TestContext.Current.CancellationToken);
        var database = new StoredViolations(connectionString + ";Pooling=false");
        var agreement = new ScoreAgreement(database, processes, policy);
        var run = new FaultRun("redis cluster failover");

        const string scenario = "a";
        var victim = await cluster.MasterOfAsync(ScoreCacheKeys.Entry($"u-{run.Id}-{scenario}-00"));
        await run.RunScenarioAsync(scenario, $"kill -9 of the Redis Cluster master on port {victim}, its replica promoted", processes, database, agreement, async context =>
        {
            var masters = await cluster.MastersAsync();
            cluster.Kill(victim);
            var promoted = await cluster.AwaitHealthyAsync(PromotionWithin);
            var after = await cluster.MastersAsync();
            context.Note(string.Create(CultureInfo.InvariantCulture,
                $"masters {string.Join(", ", masters)} before; {string.Join(", ", after)} serve every slot {promoted.TotalSeconds:0.0} s after the kill"));
            if (after.Contains(victim) || after.Count != masters.Count)
            {
                context.Fail("promotion", $"the cluster's masters after the kill are {string.Join(", ", after)}");
            }
        });

        await run.FinishAsync(database, SummaryFile);
    }
}
