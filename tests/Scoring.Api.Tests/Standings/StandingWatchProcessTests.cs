using Grpc.Core;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Standings;

/// <summary>
/// Watching the feed against the service run as real processes on one PostgreSQL: writers on two
/// processes, the watch's process killed with SIGKILL and the watch resumed on the other, and a consumer
/// that stops reading. Real clocks; every wait is bounded.
/// </summary>
public sealed class StandingWatchProcessTests(TestServers servers)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private async Task<Dictionary<string, string>> EnvironmentAsync(params (string Key, string Value)[] more)
    {
        var environment = new Dictionary<string, string>
        {
            ["Auth__Mode"] = "None",
            ["Auth__AllowAnonymous"] = "true",
            ["Database__Provider"] = "Postgres",
            ["ConnectionStrings__Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
            ["RateLimit__Anonymous__PermitsPerSecond"] = "100000",
            ["RateLimit__Anonymous__Burst"] = "100000",
        };
        foreach (var (key, value) in more)
        {
            environment[key] = value;
        }

        return environment;
    }

    [Fact]
    public async Task A_watch_resumed_on_the_other_process_after_a_kill_misses_nothing_and_repeats_nothing()
    {
        var environment = await EnvironmentAsync();
        using var first = await ServerProcess.StartAsync(environment);
        using var second = await ServerProcess.StartAsync(environment);
        var received = new List<StandingChange>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);

        // Writers on both processes at once: each call moves a new user from GOOD to RESTRICTED (one
        // entry), so transactions commit in an order unrelated to the numbers they took.
        var written = 0;
        var writers = Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            var servers = new[] { first, second };
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var batch = new RecordViolationsRequest();
                batch.Violations.AddRange(Enumerable.Range(0, 5).Select(_ => Violation(NewUserId(), "harassment", Severity.High)));
                var target = servers[(w + i) % 2];
                try
                {
                    await target.Scoring.RecordViolationsAsync(batch, cancellationToken: stop.Token);
                    Interlocked.Add(ref written, 5);
                }
                catch (RpcException) when (target == first || stop.IsCancellationRequested)
                {
                    // The first process is killed mid-run; its writers carry on against the second.
                    servers[(w + i) % 2] = second;
                }
            }
        })).ToArray();

        var watch = first.Standings.WatchStandingChanges(new WatchStandingChangesRequest(), cancellationToken: Token);
        Assert.True(await watch.ResponseStream.MoveNext(Token));
        var start = watch.ResponseStream.Current.Bookmark.Revision;
        var last = start;
        try
        {
            while (received.Count < 150 && await watch.ResponseStream.MoveNext(Token))
            {
                if (watch.ResponseStream.Current.Change is { } change)
                {
                    received.Add(change);
                    last = change.Revision;
                }
            }

            first.Crash();
            // Whatever was in flight on the dead connection is lost to the consumer, not to the feed.
            await Assert.ThrowsAsync<RpcException>(async () =>
            {
                while (await watch.ResponseStream.MoveNext(Token))
                {
                    if (watch.ResponseStream.Current.Change is { } change)
                    {
                        received.Add(change);
                        last = change.Revision;
                    }
                }
            });
        }
        finally
        {
            watch.Dispose();
        }

        using var resumed = second.Standings.WatchStandingChanges(new WatchStandingChangesRequest { FromRevision = last }, cancellationToken: Token);
        var target = received.Count + 150;
        while (received.Count < target && await resumed.ResponseStream.MoveNext(Token))
        {
            if (resumed.ResponseStream.Current.Change is { } change)
            {
                received.Add(change);
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);
        // The table itself, in feed order, not the feed's own listing: a late commit the feed skipped shows here.
        var stored = await StoredAsync(environment["ConnectionStrings__Scoring"], start, received[^1].Revision);

        Assert.Equal(stored, received.Select(c => c.Revision));
        Assert.Equal(received.Count, received.Select(c => c.Revision).Distinct().Count());
        Assert.All(received, c => Assert.Equal((Standing.Good, Standing.Restricted), (c.PreviousStanding, c.Standing)));
        Assert.Equal(received.Count, received.Select(c => c.UserId).Distinct().Count());
        Assert.True(written > 0);
    }

    [Fact]
    public async Task A_consumer_that_stops_reading_is_ended_with_RESOURCE_EXHAUSTED_and_its_last_revision()
    {
        using var server = await ServerProcess.StartAsync(await EnvironmentAsync(("Scoring__StandingWatchBuffer", "10")));
        using var watch = server.Standings.WatchStandingChanges(new WatchStandingChangesRequest(), cancellationToken: Token);
        Assert.True(await watch.ResponseStream.MoveNext(Token));

        // Far more changes than the buffer and the connection's windows hold, while nothing is read.
        for (var i = 0; i < 12; i++)
        {
            var batch = new RecordViolationsRequest();
            batch.Violations.AddRange(Enumerable.Range(0, 500).Select(_ => Violation(NewUserId(), "harassment", Severity.High)));
            await server.Scoring.RecordViolationsAsync(batch, cancellationToken: Token);
        }

        var received = new List<StandingChange>();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Token);
        bound.CancelAfter(Bound);
        var ended = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await watch.ResponseStream.MoveNext(bound.Token))
            {
                if (watch.ResponseStream.Current.Change is { } change)
                {
                    received.Add(change);
                }
            }
        });

        Assert.Equal(StatusCode.ResourceExhausted, ended.StatusCode);
        var info = ended.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>();
        Assert.Equal("WATCHER_FELL_BEHIND", info.Reason);
        Assert.NotEmpty(received);
        Assert.True(received.Count < 6000);
        Assert.Equal(received[^1].Revision, info.Metadata["last_revision"]);
    }

    /// <summary>The revisions stored after <paramref name="after"/> up to <paramref name="upTo"/>, in (transaction, sequence) order.</summary>
    private static async Task<List<string>> StoredAsync(string database, string after, string upTo)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync(Token);
        await using var query = new Npgsql.NpgsqlCommand("SELECT transaction_id, sequence FROM standing_changes ORDER BY transaction_id, sequence", connection);
        var revisions = new List<string>();
        await using var reader = await query.ExecuteReaderAsync(Token);
        while (await reader.ReadAsync(Token))
        {
            revisions.Add($"{reader.GetInt64(0):x16}{reader.GetInt64(1):x16}");
        }

        return [.. revisions.Where(r => string.CompareOrdinal(r, after) > 0 && string.CompareOrdinal(r, upTo) <= 0)];
    }
}
