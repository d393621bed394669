using System.Diagnostics.Metrics;
using Grpc.Core;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using StackExchange.Redis;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// The read path under overload: a miss costs a database read, so misses must not multiply when the
/// cache is slow. Concurrent misses for one user share a read; reads beyond a bound are shed with
/// UNAVAILABLE; a slow Redis does not open the breaker that a dead one opens; and a Redis stalled in
/// pulses under load leaves no call answered INTERNAL and every user served from the cache once it ends.
/// </summary>
public sealed class ReadOverloadTests(TestServers servers)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Concurrent_misses_for_one_user_waiting_for_the_database_share_one_read()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        var hook = new CommandHook();
        // No Redis: each instance caches in its own memory, so what the writer cached the reader has not.
        using var writer = ScoringApp.OnPostgres(database, redis: null);
        using var reader = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = database,
            ["Cache:FallbackReads"] = "1",
        }, services: Hook(hook));
        var (first, second) = (NewUserId(), NewUserId());
        await writer.Scoring.RecordViolationAsync(Violation(first, "spam", Severity.Medium), cancellationToken: TestContext.Current.CancellationToken);
        await writer.Scoring.RecordViolationAsync(Violation(second, "spam", Severity.Medium));
        using var fallbackReads = FallbackReads(reader);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reads = 0;
        hook.OnCommand = async command =>
        {
            if (IsScoreRead(command))
            {
                Interlocked.Increment(ref reads);
                await release.Task;
            }
        };

        // The only read permit is held by a read of the first user, inside its query.
        var holding = reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = first }).ResponseAsync;
        await fallbackReads.WaitForMeasurementsAsync(1, Patience);
        const int Calls = 20;
        var calls = Enumerable.Range(0, Calls)
            .Select(_ => reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = second }).ResponseAsync)
            .ToList();
        // The first call for the second user waits for the permit; the other nineteen joined its read.
        await fallbackReads.WaitForMeasurementsAsync(1 + Calls - 1, Patience);
        release.SetResult();
        var scores = await Task.WhenAll(calls);

        Assert.Equal(1, (await holding).ActiveViolations);
        Assert.Equal(2, Volatile.Read(ref reads));
        Assert.Equal(Calls - 1, Sum(fallbackReads, "coalesced"));
        Assert.All(scores, s => Assert.Equal(1, s.ActiveViolations));
    }

    [Fact]
    public async Task A_miss_never_joins_a_read_whose_query_began_before_it_so_it_sees_an_erasure_acknowledged_first()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        var hook = new CommandHook();
        using var writer = ScoringApp.OnPostgres(database, redis: null);
        using var reader = ScoringApp.OnPostgres(database, redis: null, services: Hook(hook));
        var userId = NewUserId();
        await writer.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium), cancellationToken: TestContext.Current.CancellationToken);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reads = 0;
        hook.OnCommand = async command =>
        {
            // Only the first read is held, inside its query.
            if (IsScoreRead(command) && Interlocked.Increment(ref reads) == 1)
            {
                held.SetResult();
                await release.Task;
            }
        };

        var early = reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId }).ResponseAsync;
        await held.Task.WaitAsync(Patience);
        await writer.Privacy.EraseUserAsync(new EraseUserRequest { UserId = userId, Reason = "gdpr_art17_request" });
        var late = await reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId, IncludeBreakdown = true }).ResponseAsync.WaitAsync(Patience);
        release.SetResult();

        Assert.Equal(0, late.ActiveViolations);
        Assert.Empty(late.Breakdown);
        // The early read answers too (what it answers depends on where its query stood at the erasure).
        await early;
    }

    [Fact]
    public async Task Misses_beyond_the_bound_on_database_reads_are_shed_with_UNAVAILABLE()
    {
        var hook = new CommandHook();
        using var app = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
            ["Cache:FallbackReads"] = "2",
            ["Cache:FallbackQueue"] = "1",
        }, services: Hook(hook));
        _ = app.Server;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reads = 0;
        hook.OnCommand = async command =>
        {
            if (IsScoreRead(command))
            {
                if (Interlocked.Increment(ref reads) == 2)
                {
                    held.SetResult();
                }

                await release.Task;
            }
        };
        using var fallbackReads = FallbackReads(app);

        Task<UserScore> Read() => app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = NewUserId() }).ResponseAsync;
        var reading = new[] { Read(), Read() };
        await held.Task.WaitAsync(Patience);
        // Two more reads than the one that may wait: two of these three are refused at once.
        var beyond = new List<Task<UserScore>> { Read(), Read(), Read() };
        var refused = new List<RpcException>();
        for (var i = 0; i < 2; i++)
        {
            var done = await Task.WhenAny(beyond).WaitAsync(Patience);
            beyond.Remove(done);
            refused.Add(await Assert.ThrowsAsync<RpcException>(() => done));
        }

        Assert.All(refused, e => Assert.Equal(StatusCode.Unavailable, e.StatusCode));
        Assert.All(refused, e => Assert.Contains("retry", e.Status.Detail, StringComparison.Ordinal));
        Assert.Equal(2, Sum(fallbackReads, "shed"));
        release.SetResult();
        Assert.All(await Task.WhenAll([.. reading, .. beyond]), s => Assert.Equal(0, s.ActiveViolations));
        Assert.Equal(3, Volatile.Read(ref reads));
    }

    [Fact]
    public void A_slow_Redis_keeps_the_breaker_closed_and_a_stalled_or_dead_one_opens_it()
    {
        Assert.Equal(0, BrokenAfter(i => i % 2 == 0 ? new TimeoutException("timed out") : null));
        Assert.InRange(BrokenAfter(_ => new TimeoutException("timed out")), 1, 40);
        Assert.InRange(BrokenAfter(i => i % 2 == 0 ? new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "refused") : null), 1, 40);
    }

    [Fact]
    public async Task Redis_stalled_in_pulses_under_load_answers_no_call_INTERNAL_and_serves_from_the_cache_once_it_ends()
    {
        await using var redis = await RedisServer.StartNewAsync();
        using var app = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Cache:ReadTimeout"] = "00:00:00.050",
            ["Cache:FallbackReads"] = "4",
            ["Cache:FallbackQueue"] = "8",
            // Near copies off: every read goes to the Redis that stalls, which is what this holds to account.
            ["Cache:LocalTtl"] = "00:00:00",
        });
        var users = Enumerable.Range(0, 100).Select(_ => NewUserId()).ToList();
        var batch = new RecordViolationsRequest();
        batch.Violations.AddRange(users.Select(u => Violation(u, "spam", Severity.Medium)));
        await app.Scoring.RecordViolationsAsync(batch, cancellationToken: TestContext.Current.CancellationToken);

        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<StatusCode, int>();
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 32).Select(r => Task.Run(async () =>
        {
            for (var i = r; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = users[i % users.Count] }, deadline: DateTime.UtcNow.AddSeconds(5));
                    statuses.AddOrUpdate(StatusCode.OK, 1, (_, n) => n + 1);
                }
                catch (RpcException e)
                {
                    statuses.AddOrUpdate(e.StatusCode, 1, (_, n) => n + 1);
                }
            }
        })).ToList();

        // Twenty pulses: stalled 150 ms, then 100 ms to answer what queued up.
        for (var pulse = 0; pulse < 20; pulse++)
        {
            await redis.PauseAsync();
            await Task.Delay(TimeSpan.FromMilliseconds(150), TestContext.Current.CancellationToken);
            await redis.ResumeAsync();
            await Task.Delay(TimeSpan.FromMilliseconds(100), TestContext.Current.CancellationToken);
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);

        Assert.True(statuses.GetValueOrDefault(StatusCode.OK) > 0, $"statuses: {string.Join(", ", statuses)}");
        Assert.DoesNotContain(StatusCode.Internal, statuses.Keys);
        Assert.DoesNotContain(StatusCode.Unknown, statuses.Keys);
        // Nothing marked for repair and nothing left to read from the database: once Redis answers in time
        // again, a round over every user costs no database command.
        var request = new GetScoresRequest();
        request.UserIds.AddRange(users);
        await WaitUntilServedFromCacheAsync(app, request);
    }

    /// <summary>Polls (bounded) until one GetScores of every user costs no database command.</summary>
    private static async Task WaitUntilServedFromCacheAsync(ScoringApp app, GetScoresRequest request)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = -1;
        while (clock.Elapsed < Patience)
        {
            var before = app.Commands.Count;
            GetScoresResponse scores;
            try
            {
                scores = await app.Scoring.GetScoresAsync(request);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
            {
                // This loop polls as fast as the service answers, and the rate limiter may say so on a busy
                // machine (in a full test run): back off as a client should, then look again.
                await Task.Delay(TimeSpan.FromMilliseconds(100), TestContext.Current.CancellationToken);
                continue;
            }

            Assert.All(scores.Scores, s => Assert.Equal(1, s.ActiveViolations));
            last = app.Commands.Count - before;
            if (last == 0)
            {
                return;
            }
        }

        Assert.Fail(last < 0
            ? $"{Patience.TotalSeconds:0} s after the pulses ended, the rate limiter still refused every read"
            : $"{Patience.TotalSeconds:0} s after the pulses ended, a read of every user still cost {last} database commands");
    }

    /// <summary>Runs 40 calls through the read pipeline, call i failing with <paramref name="fault"/>(i); the first call refused by the breaker (1-based), or 0.</summary>
    private static int BrokenAfter(Func<int, Exception?> fault)
    {
        var pipeline = RedisScoreCache.Pipeline<bool>(new CacheOptions(), TimeSpan.FromSeconds(5));
        for (var i = 0; i < 40; i++)
        {
            try
            {
                pipeline.Execute(static (state) => state.fault(state.i) is { } exception ? throw exception : true, (fault, i));
            }
            catch (Exception e) when (e is TimeoutException or RedisConnectionException)
            {
            }
            catch (Exception e) when (e.GetType().Name == "BrokenCircuitException")
            {
                // (Polly's type by name: this project also sees Polly 7's type of that name.)
                return i + 1;
            }
        }

        return 0;
    }

    private static bool IsScoreRead(System.Data.Common.DbCommand command) =>
        command.CommandText.Contains("user_score_versions", StringComparison.Ordinal) && command.CommandText.TrimStart().StartsWith("SELECT", StringComparison.Ordinal);

    private static MetricCollector<long> FallbackReads(ScoringApp app) =>
        new(app.Services.GetRequiredService<IMeterFactory>(), ScoringMetrics.MeterName, "scoring.cache.fallback_reads");

    private static long Sum(MetricCollector<long> collector, string result) =>
        collector.GetMeasurementSnapshot().Where(m => (string?)m.Tags["result"] == result).Sum(m => m.Value);

    private static Action<IServiceCollection> Hook(CommandHook hook) => services => services.AddSingleton<IInterceptor>(hook);
}
