using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using StackExchange.Redis;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Engines;

/// <summary>
/// What a Redis Cluster changes for the cache: users' entries spread over every master's slots, so a
/// batch read crosses shards; an erasure overwrites the entry on whichever shard holds it; change
/// notices for near copies reach replicas connected to other nodes. (The contract suites also run on
/// the cluster: RedisClusterScoringTests, RedisClusterBatchTests, RedisClusterAppealContractTests.)
/// </summary>
public sealed class RedisClusterTests(TestServers servers)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_batch_of_100_users_spanning_every_master_is_answered_from_the_cluster()
    {
        var cluster = await servers.RedisClusterAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var writer = ScoringApp.OnRedisCluster(database, cluster.ConnectionString);
        using var reader = ScoringApp.OnRedisCluster(database, cluster.ConnectionString);
        var users = Enumerable.Range(0, 100).Select(_ => NewUserId()).ToList();
        var batch = new RecordViolationsRequest();
        batch.Violations.AddRange(users.Select(u => Violation(u, "spam", Severity.Medium)));
        await writer.Scoring.RecordViolationsAsync(batch);

        var masters = await cluster.MastersAsync();
        var holders = new HashSet<int>();
        foreach (var user in users)
        {
            holders.Add(await cluster.MasterOfAsync(ScoreCacheKeys.Entry(user)));
        }

        Assert.Equal(3, masters.Count);
        Assert.Equal(masters.ToHashSet(), holders);

        // The writes cached every user, on the shard that owns the user's slot: another replica reads
        // all hundred without one database command.
        var request = new GetScoresRequest();
        request.UserIds.AddRange(users);
        var commands = reader.Commands.Count;
        var scores = await reader.Scoring.GetScoresAsync(request);

        Assert.Equal(commands, reader.Commands.Count);
        Assert.Equal(users, scores.Scores.Select(s => s.UserId));
        Assert.All(scores.Scores, s => Assert.Equal(1, s.ActiveViolations));
    }

    [Fact]
    public async Task An_erasure_overwrites_the_users_entry_on_its_shard()
    {
        var cluster = await servers.RedisClusterAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnRedisCluster(database, cluster.ConnectionString);
        using var other = ScoringApp.OnRedisCluster(database, cluster.ConnectionString);
        var userId = NewUserId();
        var recorded = await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.High));
        await using var admin = await cluster.ConnectAsync();
        var entry = ScoreCacheKeys.Entry(userId);
        Assert.Contains(recorded.Violation.ViolationId, (string?)await admin.GetDatabase().HashGetAsync(entry, "d"));

        await app.Privacy.EraseUserAsync(new EraseUserRequest { UserId = userId, Reason = "gdpr_art17_request" });

        var held = (string?)await admin.GetDatabase().HashGetAsync(entry, "d");
        Assert.NotNull(held);
        Assert.DoesNotContain(recorded.Violation.ViolationId, held);
        var commands = other.Commands.Count;
        var score = await other.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId, IncludeBreakdown = true });
        Assert.Equal(commands, other.Commands.Count);
        Assert.Equal(0, score.ActiveViolations);
        Assert.Empty(score.Breakdown);
    }

    [Fact]
    public async Task A_write_on_one_replica_drops_the_near_copy_another_replica_holds()
    {
        var cluster = await servers.RedisClusterAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        // Each replica names a different node first, as replicas spread over a cluster's endpoints would.
        // Copies live a minute, so only a change notice can drop one within the test's patience.
        using var first = Near(database, cluster.ConnectionString);
        using var second = Near(database, Rotated(cluster));
        var userId = NewUserId();
        using var notices = Notices(second);
        var recorded = 0;
        // A notice published before the second replica's subscription is up is lost: write until one arrives.
        while (notices.GetMeasurementSnapshot().Count == 0)
        {
            Assert.True(recorded < 150, "the second replica never received a change notice");
            await first.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Low), cancellationToken: TestContext.Current.CancellationToken);
            recorded++;
            try
            {
                await notices.WaitForMeasurementsAsync(1, TimeSpan.FromMilliseconds(200));
            }
            catch (OperationCanceledException)
            {
            }
        }

        // The second replica now keeps a copy of what Redis holds.
        Assert.Equal(recorded, (await second.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations);

        await first.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Low));
        recorded++;

        await WaitUntilAsync(async () => (await second.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations == recorded);
    }

    [Fact]
    public async Task A_cache_write_counts_once_the_masters_replica_holds_it()
    {
        var cluster = await servers.RedisClusterAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnRedisCluster(database, cluster.ConnectionString);
        using var errors = CacheErrors(app);
        var userId = NewUserId();

        var recorded = await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(1, recorded.Score.ActiveViolations);
        Assert.Empty(errors.GetMeasurementSnapshot());
        await WaitUntilAsync(async () => await RepairMarksAsync(database, userId) == 0);
    }

    [Fact]
    public async Task A_cache_write_no_replica_confirms_keeps_its_repair_mark()
    {
        // A standalone Redis has no replica to confirm anything.
        await using var redis = await RedisServer.StartNewAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnRedisCluster(database, redis.ConnectionString, new() { ["Cache:WriteTimeout"] = "00:00:00.400" });
        using var errors = CacheErrors(app);
        var userId = NewUserId();

        var recorded = await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium), cancellationToken: TestContext.Current.CancellationToken);

        // Acknowledged (the change is committed), but the cache write did not count: the mark stays for a sweep.
        Assert.Equal(1, recorded.Score.ActiveViolations);
        Assert.Contains(errors.GetMeasurementSnapshot(), m => (string?)m.Tags["operation"] == "write");
        Assert.Equal(1, await RepairMarksAsync(database, userId));
    }

    [Fact]
    public async Task A_replica_that_confirms_after_the_connections_own_timeout_but_in_time_counts()
    {
        // A Redis with one replica; the connection's own command timeout is 2 s, the write's 20 s, so the
        // write waits up to 10 s for the replica.
        await using var master = await RedisServer.StartNewAsync();
        await using var replica = await RedisServer.StartNewAsync();
        var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(replica.ConnectionString + ",allowAdmin=true");
        await using (admin)
        {
            await admin.GetServer($"127.0.0.1:{replica.Port}").ReplicaOfAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, master.Port));
            await WaitUntilAsync(async () => (await admin.GetServer($"127.0.0.1:{replica.Port}").InfoRawAsync("replication"))?.Contains("master_link_status:up", StringComparison.Ordinal) == true);
        }

        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnRedisCluster(database, master.ConnectionString, new() { ["Cache:WriteTimeout"] = "00:00:20" });
        using var errors = CacheErrors(app);
        var userId = NewUserId();
        // Once before, so the measured write goes straight to Redis (connections open, scripts loaded).
        await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));

        // The replica stalls while the write waits for it (up to 10 s): held for 3.5 s from when the write's
        // WAIT blocks on the master, longer than the connection's 2 s timeout. Cut off by the connection,
        // the write would count as failed.
        await replica.PauseAsync();
        var write = app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium)).ResponseAsync;
        var masterAdmin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(master.ConnectionString + ",allowAdmin=true");
        await using (masterAdmin)
        {
            await WaitUntilAsync(async () =>
                (await masterAdmin.GetServer($"127.0.0.1:{master.Port}").InfoRawAsync("clients"))?.Contains("blocked_clients:1", StringComparison.Ordinal) == true);
        }

        await Task.Delay(TimeSpan.FromSeconds(3.5), TestContext.Current.CancellationToken);
        await replica.ResumeAsync();

        Assert.Equal(2, (await write).Score.ActiveViolations);
        Assert.DoesNotContain(errors.GetMeasurementSnapshot(), m => (string?)m.Tags["operation"] == "write");
        await WaitUntilAsync(async () => await RepairMarksAsync(database, userId) == 0);
    }

    [Fact]
    public async Task A_sweep_keeps_the_mark_of_an_entry_Redis_holds_but_no_replica_confirmed()
    {
        // A standalone Redis has no replica: the write reaches Redis but is never confirmed.
        await using var redis = await RedisServer.StartNewAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        var settings = new Dictionary<string, string?> { ["Cache:WriteTimeout"] = "00:00:00.400" };
        var userId = NewUserId();
        using (var first = ScoringApp.OnRedisCluster(database, redis.ConnectionString, settings))
        {
            await first.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium), cancellationToken: TestContext.Current.CancellationToken);
        }

        Assert.Equal(1, await RepairMarksAsync(database, userId));

        // Another replica, which never saw that write fail, sweeps: Redis holds the marked version, which must
        // not clear the mark (a failover could lose the entry). It rewrites the entry, and that fails too.
        using var second = ScoringApp.OnRedisCluster(database, redis.ConnectionString, settings);
        using var errors = CacheErrors(second);
        await WaitUntilAsync(async () =>
            errors.GetMeasurementSnapshot().Any(m => (string?)m.Tags["operation"] == "write") || await RepairMarksAsync(database, userId) == 0);

        Assert.Equal(1, await RepairMarksAsync(database, userId));
    }

    private static async Task<long> RepairMarksAsync(string database, string userId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM score_cache_repairs WHERE user_id = $1", connection)
        {
            Parameters = { new() { Value = userId } },
        };
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Polls a condition the service reaches on its own (a mark cleared in the background), within a bound.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (!await condition())
        {
            Assert.True(clock.Elapsed < Patience, $"the condition did not hold within {Patience.TotalSeconds:0} s");
            await poll.WaitForNextTickAsync(TestContext.Current.CancellationToken);
        }
    }

    private static MetricCollector<long> CacheErrors(ScoringApp app) =>
        new(app.Services.GetRequiredService<IMeterFactory>(), ScoringMetrics.MeterName, "scoring.cache.errors");

    private static string Rotated(RedisClusterServer cluster) =>
        string.Join(',', cluster.Ports.Skip(3).Concat(cluster.Ports.Take(3)).Select(p => $"127.0.0.1:{p}")) + ",abortConnect=false";

    private static ScoringApp Near(string database, string redis) =>
        ScoringApp.OnRedisCluster(database, redis, new() { ["Cache:LocalTtl"] = "00:01:00" });

    private static MetricCollector<long> Notices(ScoringApp app) =>
        new(app.Services.GetRequiredService<IMeterFactory>(), ScoringMetrics.MeterName, "scoring.cache.change_notices");
}
