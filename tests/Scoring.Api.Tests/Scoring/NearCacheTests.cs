using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using StackExchange.Redis;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>Near copies of Redis entries: served without a round trip, dropped by change notices from any replica.</summary>
public sealed class NearCacheTests(TestServers servers)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_held_copy_answers_without_Redis_or_the_database()
    {
        // A Redis of its own, so the test may empty it.
        await using var redis = await RedisServer.StartNewAsync();
        using var app = Near(await servers.Postgres.CreateDatabaseAsync(), redis);
        var userId = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));
        await WaitUntilListeningAsync(app, userId);

        await FlushAsync(redis);
        var commands = app.Commands.Count;
        var score = await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });

        Assert.Equal(2, score.ActiveViolations);
        Assert.Equal(commands, app.Commands.Count);
    }

    [Fact]
    public async Task A_write_on_one_replica_drops_the_copy_another_replica_holds()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var first = Near(database, redis);
        using var second = Near(database, redis, time: first.Time);
        var userId = NewUserId();
        using var notices = Notices(second);
        await first.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));
        await notices.WaitForMeasurementsAsync(1, Patience);
        Assert.Equal(1, (await second.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations);

        await first.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));
        await notices.WaitForMeasurementsAsync(2, Patience);

        Assert.Equal(2, (await second.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations);
    }

    [Fact]
    public async Task With_no_local_ttl_no_copies_are_kept_and_every_read_asks_Redis()
    {
        await using var redis = await RedisServer.StartNewAsync();
        using var app = Near(await servers.Postgres.CreateDatabaseAsync(), redis, localTtl: "00:00:00");
        var userId = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(userId));
        await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });

        await FlushAsync(redis);
        var commands = app.Commands.Count;
        var score = await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });

        // Redis forgot the entry, so the score came from the database.
        Assert.Equal(1, score.ActiveViolations);
        Assert.True(app.Commands.Count > commands);
    }

    [Fact]
    public async Task A_copy_whose_change_notice_was_lost_is_served_for_at_most_the_local_ttl()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        // The writer's notices go to a channel no other replica listens on: every one of them is lost.
        using var writer = Near(database, redis, redisOptions: ",channelPrefix=elsewhere:");
        using var reader = Near(database, redis, time: writer.Time);
        var userId = NewUserId();
        await WaitUntilListeningAsync(reader, userId);
        Assert.Equal(1, (await reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations);

        await writer.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));

        // The reader never hears of the write: its copy, kept for the default second, answers until then.
        writer.Time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(1, (await reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations);
        writer.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, (await reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations);
    }

    [Fact]
    public async Task A_copy_ages_from_when_its_read_began_so_a_slow_database_read_does_not_stretch_the_bound()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var database = await servers.Postgres.CreateDatabaseAsync();
        var hook = new CommandHook();
        // The writer's notices are all lost, so only the copy's age can end it.
        using var writer = Near(database, redis, redisOptions: ",channelPrefix=elsewhere:");
        using var reader = Near(database, redis, time: writer.Time, services: s => s.AddSingleton<IInterceptor>(hook));
        await WaitUntilListeningAsync(reader, NewUserId());
        var userId = NewUserId();
        await writer.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString))
        {
            // Redis forgets the user, so the reader's next read is a miss read from the database.
            await connection.GetDatabase().KeyDeleteAsync(ScoreCacheKeys.Entry(userId));
        }

        // Every read of the users' versions waits (a background sweep's too), so the miss's read surely does.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hook.OnCommand = async command =>
        {
            if (command.CommandText.Contains("user_score_versions", StringComparison.Ordinal))
            {
                await release.Task;
            }
        };
        using var fallbackReads = new MetricCollector<long>(reader.Services.GetRequiredService<IMeterFactory>(), ScoringMetrics.MeterName, "scoring.cache.fallback_reads");
        var slow = reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId }).ResponseAsync;
        // Counted once the miss took its instant and a permit, just before its query.
        await fallbackReads.WaitForMeasurementsAsync(1, Patience);
        // The database read takes the whole second a copy may live.
        writer.Time.Advance(TimeSpan.FromSeconds(1));
        release.SetResult();
        Assert.Equal(1, (await slow.WaitAsync(Patience)).ActiveViolations);

        await writer.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));

        // Kept from when it was read, that copy would answer 1 for another second; it was not kept at all.
        Assert.Equal(2, (await reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations);
    }

    [Fact]
    public async Task Reads_racing_reconnects_of_the_notice_subscription_never_fail()
    {
        await using var redis = await RedisServer.StartNewAsync();
        using var app = Near(await servers.Postgres.CreateDatabaseAsync(), redis);
        var users = Enumerable.Range(0, 20).Select(_ => NewUserId()).ToArray();
        foreach (var user in users)
        {
            await app.Scoring.RecordViolationAsync(Violation(user));
        }

        await WaitUntilListeningAsync(app, users[0]);
        var cache = Assert.IsType<Api.Infrastructure.Caching.NearScoreCache>(app.Services.GetRequiredService<Api.Infrastructure.Caching.IScoreCache>());
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},allowAdmin=true");
        var server = admin.GetServer($"127.0.0.1:{redis.Port}");
        using var stop = new CancellationTokenSource();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        long reads = 0;

        // Readers in a tight loop while the subscription drops and comes back: each reconnect empties the
        // copies under their feet (finding 5: a swap and dispose made such a read throw).
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await cache.GetAsync(users, CancellationToken.None);
                    Interlocked.Increment(ref reads);
                    // A read from copies completes at once: without yielding, four such loops would hold
                    // the thread pool of two cores, and the Redis commands below would wait behind them.
                    await Task.Yield();
                }
                catch (Exception exception)
                {
                    failures.Enqueue(exception);
                }
            }
        })).ToArray();
        for (var i = 0; i < 8; i++)
        {
            await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
            await WaitUntilNoticedAsync(app, users[i]);
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);

        Assert.Empty(failures);
        Assert.True(Interlocked.Read(ref reads) > 0);
    }

    /// <summary>Writes until one write's change notice arrives (the subscription is back), bounded.</summary>
    private static async Task WaitUntilNoticedAsync(ScoringApp app, string userId)
    {
        using var notices = Notices(app);
        for (var attempt = 0; attempt < 150; attempt++)
        {
            await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Low));
            try
            {
                await notices.WaitForMeasurementsAsync(1, TimeSpan.FromMilliseconds(200));
                return;
            }
            catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
            {
                // Not subscribed again yet: that write's notice went nowhere. (The collector's wait ends in
                // a timeout or, when its timer wins the race, a cancellation: both mean "not yet".)
            }
        }

        Assert.Fail("The change-notice subscription did not come back.");
    }

    /// <summary>A replica on the default configuration, which keeps near copies for a second (or for <paramref name="localTtl"/>).</summary>
    private static ScoringApp Near(
        string database, RedisServer redis, Microsoft.Extensions.Time.Testing.FakeTimeProvider? time = null, string? localTtl = null,
        string redisOptions = "", Action<IServiceCollection>? services = null) => new(new()
    {
        ["Database:Provider"] = "Postgres",
        ["ConnectionStrings:Scoring"] = database,
        ["ConnectionStrings:Redis"] = redis.ConnectionString + redisOptions,
        ["Cache:LocalTtl"] = localTtl,
    }, time, services: services);

    private static async Task FlushAsync(RedisServer redis)
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},allowAdmin=true");
        await admin.GetServer($"127.0.0.1:{redis.Port}").FlushAllDatabasesAsync();
    }

    private static MetricCollector<long> Notices(ScoringApp app) =>
        new(app.Services.GetRequiredService<IMeterFactory>(), ScoringMetrics.MeterName, "scoring.cache.change_notices");

    /// <summary>Copies are kept only once the change-notice subscription is up; the write's own notice proves it is.</summary>
    private static async Task WaitUntilListeningAsync(ScoringApp app, string userId)
    {
        using var notices = Notices(app);
        await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));
        await notices.WaitForMeasurementsAsync(1, Patience);
        await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });
    }
}
