using Scoring.Api.Tests.Infrastructure;
using Scoring.Faults.Tests.Checks;
using Scoring.Faults.Tests.Infrastructure;
using Scoring.Faults.Tests.Scenarios;
using Scoring.V1;

namespace Scoring.Faults.Tests;

/// <summary>
/// Two service processes on a PostgreSQL failover cluster (Patroni and etcd; a primary and a synchronous
/// streaming standby), connected through a multi-host connection string that asks for the read-write
/// node. Under 16 concurrent writers the primary's host crashes (kill -9 of Patroni and of every
/// PostgreSQL process); Patroni promotes the standby once the leader key expires. Then: writes continue
/// on the new primary; every acknowledged event is on it exactly once (synchronous replication: a commit
/// was acknowledged only once the standby had it); calls during the switch answered UNAVAILABLE, never
/// INTERNAL; both processes answer every user's score as the new primary says.
/// </summary>
public sealed class PatroniFailoverTests(TestServers servers)
{
    /// <summary>Where the last run's summary line is written.</summary>
    public const string SummaryFile = "patroni-failover-summary.txt";

    private static readonly TimeSpan PromotionWithin = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 300_000)]
    public async Task Acknowledged_reports_survive_the_primary_crashing_and_writes_continue_on_the_promoted_standby()
    {
        await using var cluster = await PatroniCluster.StartAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        var environment = ServiceProcess.Settings(connectionString, $"127.0.0.1:{servers.Redis.Port}");

        using var first = new ServiceProcess("process A", environment);
        using var second = new ServiceProcess("process B", environment);
        // One after the other: both would otherwise race to migrate the new database.
        await first.StartAsync();
        await second.StartAsync();
        ServiceProcess[] processes = [first, second];
        var policy = await first.Scoring.GetPolicyAsync(
            new GetPolicyRequest(), deadline: DateTime.UtcNow + FaultRun.CallDeadline, cancellationToken: TestContext.Current.CancellationToken);
        // The checks read whichever node is the primary now, as the service does.
        var database = new StoredViolations(connectionString + ";Pooling=false");
        var agreement = new ScoreAgreement(database, processes, policy);
        var run = new FaultRun("patroni failover");

        await run.RunScenarioAsync("a", "kill -9 of the primary's host (Patroni and every PostgreSQL process), the synchronous standby promoted",
            processes, database, agreement, async context =>
            {
                context.Note($"before: {await cluster.DescribeAsync()}");
                context.Note($"killed {await cluster.KillLeaderAsync()}");
                var (leader, after) = await cluster.AwaitNewLeaderAsync(PromotionWithin);
                context.Note($"{leader} promoted {after.TotalSeconds:0.0} s after the kill (leader key TTL {PatroniCluster.LeaderTtl.TotalSeconds:0} s)");
            });

        await run.FinishAsync(database, SummaryFile);
    }
}
