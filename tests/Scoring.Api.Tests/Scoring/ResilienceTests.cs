using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using StackExchange.Redis;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>Several servers, failing Redis, a failing database and a crashing process, on real PostgreSQL and Redis.</summary>
public sealed class ResilienceTests(TestServers servers)
{
    [Fact]
    public async Task Two_servers_writing_one_user_concurrently_end_with_the_recomputed_score()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        // Near copies off: the subject is what Redis and the database end with.
        using var first = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString, more: ScoringApp.StrictReads);
        using var second = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString, first.Time, more: ScoringApp.StrictReads);
        var userId = NewUserId();
        var now = first.Time.GetUtcNow();

        var writes = Enumerable.Range(0, 40).Select(i =>
        {
            var client = i % 2 == 0 ? first.Scoring : second.Scoring;
            return client.RecordViolationAsync(Violation(userId, i % 3 == 0 ? "harassment" : "spam", (Severity)(1 + (i % 4)), now - TimeSpan.FromMinutes(i))).ResponseAsync;
        });
        await Task.WhenAll(writes);

        await ScoringContractTests.AssertScoreMatchesRecomputation(first.Scoring, userId, expectedCount: 40);
        await ScoringContractTests.AssertScoreMatchesRecomputation(second.Scoring, userId, expectedCount: 40);

        // Each commit takes the next version (writes arriving together share a commit): the cache holds
        // the last commit's, not a slower writer's older state.
        long committed;
        using (var scope = first.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Api.Infrastructure.Persistence.ScoringDbContext>();
            committed = db.UserScoreVersions.Single(v => v.UserId == userId).Version;
        }

        var redis = first.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        Assert.Equal(committed, (long)await redis.HashGetAsync(Api.Infrastructure.Caching.ScoreCacheKeys.Entry(userId), "v"));
    }

    [Fact]
    public async Task Calls_keep_succeeding_while_Redis_is_down_and_no_stale_score_is_served_after_it_returns()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        // Near copies off: the subject is which score Redis and the database serve around the outage.
        using var app = ScoringApp.OnPostgres(database, redis.ConnectionString, more: ScoringApp.StrictReads);
        using var otherReplica = ScoringApp.OnPostgres(database, redis.ConnectionString, app.Time, more: ScoringApp.StrictReads);
        var client = app.Scoring;
        var userId = NewUserId();
        var key = Api.Infrastructure.Caching.ScoreCacheKeys.Entry(userId);
        var multiplexer = app.Services.GetRequiredService<IConnectionMultiplexer>();
        // Either replica may do the repair: both see Redis come back.
        using var repairs = new RepairWatcher(app.Services.GetRequiredService<IMeterFactory>(), otherReplica.Services.GetRequiredService<IMeterFactory>());

        await client.RecordViolationAsync(Violation(userId, "spam", Severity.High));
        Assert.Equal(40, (await otherReplica.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).Points, 1e-9);
        Assert.Equal(1, (long)await multiplexer.GetDatabase().HashGetAsync(key, "v"));

        redis.Kill();
        var write = await client.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));
        var whileDown = await client.GetScoreAsync(new GetScoreRequest { UserId = userId });
        var batch = await client.GetScoresAsync(new GetScoresRequest { UserIds = { userId, NewUserId() } });
        var otherWhileDown = await otherReplica.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });
        Assert.Equal(55, write.Score.Points, 1e-9);
        Assert.Equal(55, whileDown.Points, 1e-9);
        Assert.Equal(55, batch.Scores[0].Points, 1e-9);
        Assert.Equal(55, otherWhileDown.Points, 1e-9);
        var readiness = await app.Health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest { Service = "readiness" });
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, readiness.Status);

        // Redis comes back from its append-only file still holding the entry from before the outage;
        // the server whose write failed rewrites it as soon as it reconnects.
        await redis.StartAsync();
        await repairs.Repaired.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        // A connection of the test's own: the servers' connections may still be reconnecting.
        await using var direct = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.Equal(2, (long)await direct.GetDatabase().HashGetAsync(key, "v"));
        var afterRestart = await client.GetScoreAsync(new GetScoreRequest { UserId = userId });
        var otherAfterRestart = await otherReplica.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });
        Assert.Equal((55, 2), (afterRestart.Points, afterRestart.ActiveViolations));
        Assert.Equal((55, 2), (otherAfterRestart.Points, otherAfterRestart.ActiveViolations));
    }

    [Fact]
    public async Task A_stale_entry_left_by_a_crashed_server_is_rewritten_by_the_next_one()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        var userId = NewUserId();
        var key = Api.Infrastructure.Caching.ScoreCacheKeys.Entry(userId);

        using (var crashed = ScoringApp.OnPostgres(database, redis.ConnectionString))
        {
            await crashed.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.High));
            redis.Kill();
            // Acknowledged, but its cache write failed: only the database knows the entry is stale.
            await crashed.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));
        }

        await redis.StartAsync();
        await using var stale = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.Equal(1, (long)await stale.GetDatabase().HashGetAsync(key, "v"));

        using var next = ScoringApp.OnPostgres(database, redis.ConnectionString);
        _ = next.Server;

        // The next server's sweep at start rewrites the entry (it may finish before a metric listener could
        // attach, so the entry itself is what is watched).
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        bound.CancelAfter(TimeSpan.FromSeconds(60));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while ((long)await stale.GetDatabase().HashGetAsync(key, "v") != 2)
        {
            await poll.WaitForNextTickAsync(bound.Token);
        }

        Assert.Equal(2, (long)await stale.GetDatabase().HashGetAsync(key, "v"));
        var score = await next.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });
        Assert.Equal((55, 2), (score.Points, score.ActiveViolations));
    }

    /// <summary>Completes when one of the given servers reports a repaired cache entry through its metrics.</summary>
    private sealed class RepairWatcher : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly TaskCompletionSource _repaired = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public RepairWatcher(params IMeterFactory[] serverMeters)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "scoring.cache.repairs" && serverMeters.Any(m => ReferenceEquals(instrument.Meter.Scope, m)))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
            {
                if (value > 0)
                {
                    _repaired.TrySetResult();
                }
            });
            _listener.Start();
        }

        public Task Repaired => _repaired.Task;

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task A_database_outage_is_unavailable_and_health_says_not_serving()
    {
        var closedPort = ExternalProcess.FreePort();
        using var app = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["Database:MigrateOnStartup"] = "false",
            ["ConnectionStrings:Scoring"] = $"Host=127.0.0.1;Port={closedPort};Username=postgres;Timeout=3",
        });

        var read = await AssertFails(StatusCode.Unavailable, () => app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = NewUserId() }).ResponseAsync);
        var write = await AssertFails(StatusCode.Unavailable, () => app.Scoring.RecordViolationAsync(Violation(NewUserId())).ResponseAsync);
        var health = await app.Health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest());
        var readiness = await app.Health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest { Service = "readiness" });
        var liveness = await app.Health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest { Service = "liveness" });

        Assert.DoesNotContain("Npgsql", read.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", write.Message, StringComparison.Ordinal);
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing, health.Status);
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing, readiness.Status);
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, liveness.Status);
    }

    [Fact]
    public async Task Every_acknowledged_write_survives_a_crash_and_retries_never_count_twice()
    {
        var environment = new Dictionary<string, string>
        {
            ["Database__Provider"] = "Postgres",
            ["ConnectionStrings__Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
            ["ConnectionStrings__Redis"] = servers.Redis.ConnectionString,
            ["Cache__WriteTimeout"] = "00:00:10",
            ["Auth__Mode"] = "None",
            ["Auth__AllowAnonymous"] = "true",
        };
        string[] users = [NewUserId(), NewUserId(), NewUserId()];
        var sent = new ConcurrentQueue<RecordViolationRequest>();
        var acknowledged = new ConcurrentQueue<RecordViolationRequest>();

        using (var server = await ServerProcess.StartAsync(environment))
        {
            var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                for (var i = 0; ; i++)
                {
                    var request = Violation(users[(w + i) % users.Length], "spam", Severity.Low);
                    sent.Enqueue(request);
                    try
                    {
                        await server.Scoring.RecordViolationAsync(request);
                    }
                    catch (RpcException)
                    {
                        return; // The server is gone.
                    }

                    acknowledged.Enqueue(request);
                    if (acknowledged.Count >= 80)
                    {
                        enough.TrySetResult();
                    }
                }
            })).ToArray();

            await enough.Task.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
            server.Crash();
            await Task.WhenAll(writers);
        }

        using var restarted = await ServerProcess.StartAsync(environment);
        var client = restarted.Scoring;

        var stored = new HashSet<string>();
        foreach (var user in users)
        {
            var page = await client.ListViolationsAsync(new ListViolationsRequest { UserId = user, IncludeInactive = true, PageSize = 500 });
            stored.UnionWith(page.Violations.Select(v => v.EventId));
        }

        Assert.All(acknowledged, request => Assert.Contains(request.EventId, stored));

        // The client retries everything it sent: what was acknowledged is a duplicate, nothing counts twice.
        foreach (var request in sent)
        {
            var retry = await client.RecordViolationAsync(request);
            Assert.True(retry.Duplicate || !acknowledged.Contains(request));
        }

        foreach (var user in users)
        {
            await ScoringContractTests.AssertScoreMatchesRecomputation(client, user, expectedCount: sent.Count(r => r.UserId == user));
        }
    }
}
