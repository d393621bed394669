using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
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
        using var second = Near(database, redis, first.Time);
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
    public async Task By_default_no_copies_are_kept_and_every_read_asks_Redis()
    {
        await using var redis = await RedisServer.StartNewAsync();
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis.ConnectionString);
        var userId = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(userId));

        await FlushAsync(redis);
        var commands = app.Commands.Count;
        var score = await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });

        // Redis forgot the entry, so the score came from the database.
        Assert.Equal(1, score.ActiveViolations);
        Assert.True(app.Commands.Count > commands);
    }

    private static ScoringApp Near(string database, RedisServer redis, Microsoft.Extensions.Time.Testing.FakeTimeProvider? time = null) => new(new()
    {
        ["Database:Provider"] = "Postgres",
        ["ConnectionStrings:Scoring"] = database,
        ["ConnectionStrings:Redis"] = redis.ConnectionString,
        ["Cache:LocalTtl"] = "00:00:01",
    }, time);

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
