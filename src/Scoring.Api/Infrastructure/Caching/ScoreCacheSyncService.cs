using Microsoft.Extensions.Options;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Domain.Policies;
using StackExchange.Redis;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Keeps Redis in step with the database without any database work on the request path. Every write
/// marks the user's cache entry as possibly stale inside its own transaction
/// (<see cref="ScoreCacheRepair"/>). This service, on every replica:
/// <list type="bullet">
/// <item>records in the database, in small batches, the versions the request path saw Redis accept
/// (<see cref="CacheSyncLedger"/>), which clears their marks;</item>
/// <item>sweeps for marks left behind (a cache write that failed, a replica that crashed between commit
/// and cache write, an erasure while Redis was down) whenever Redis comes back, at start-up and every
/// <see cref="CacheOptions.BreakDuration"/>, rewrites those entries from the database and clears them.</item>
/// </list>
/// So once Redis answers, every replica serves the committed state within one sweep.
/// </summary>
public sealed partial class ScoreCacheSyncService(
    IConnectionMultiplexer redis,
    IScoreCache cache,
    CacheSyncLedger ledger,
    IServiceScopeFactory scopes,
    ActivePolicy activePolicy,
    ScoringMetrics metrics,
    TimeProvider timeProvider,
    IOptions<CacheOptions> options,
    ILogger<ScoreCacheSyncService> logger) : BackgroundService
{
    private const int BatchSize = 500;

    // Real time on purpose, like the cache's I/O timeouts: how often to flush and sweep, not domain time.
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(200);

    private readonly SemaphoreSlim _wake = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            // Counted in flush rounds, so no clock is read here.
            var roundsPerSweep = Math.Max(1, (int)(options.Value.BreakDuration / FlushInterval));
            var sweepDue = true;
            var rounds = 0;
            // Where the sweep goes on from: it reads the marks in user order, a batch a round, until it has
            // seen them all once. Under load most marks are young ones whose acknowledgement is on its way;
            // going over them again and again would keep the sweep busy for nothing, and marks it cannot
            // clear (a writer holds them) would hide every mark after them.
            string? sweptTo = null;
            while (!stoppingToken.IsCancellationRequested)
            {
                await FlushAsync(stoppingToken);
                if (sweepDue && redis.IsConnected)
                {
                    (sweepDue, sweptTo) = await SweepAsync(sweptTo, stoppingToken);
                    rounds = 0;
                }

                var woken = await _wake.WaitAsync(FlushInterval, stoppingToken);
                if (woken)
                {
                    // Redis is back: whatever the outage left, from the first mark, at once.
                    sweptTo = null;
                }

                sweepDue |= woken || ++rounds >= roundsPerSweep;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            redis.ConnectionRestored -= OnConnectionRestored;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // What the last writes (the pipeline drains before this stops) acknowledged, so a clean shutdown
        // leaves no marks for others to sweep. Out of time, the marks stay: the sweep handles them.
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already awake.
            }
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var synced = ledger.Take(BatchSize * 4);
        if (synced.Count == 0)
        {
            return;
        }

        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<ScoringDbContext>().AcknowledgeCachedAsync(synced, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The marks stay; the next sweep rewrites those entries, which is harmless.
            LogFlushFailed(exception, synced.Count);
        }
    }

    /// <summary>
    /// One round of repairs, over the marks after <paramref name="after"/>: whether another round is needed
    /// at once, and from which user it goes on (null: from the start, at the next sweep).
    /// </summary>
    private async Task<(bool Again, string? After)> SweepAsync(string? after, CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
            var pending = await db.LoadUnsyncedAsync(after, BatchSize, cancellationToken);
            if (pending.Count == 0)
            {
                return (false, null);
            }

            // Most marks belong to writes whose cache write succeeded moments ago and whose acknowledgement
            // is on its way: where Redis already holds the marked version, the mark only goes. Not when
            // writes must reach replicas (Cache:WriteReplicas): an entry Redis holds may be one whose
            // replica confirmation is still pending or failed, so each is rewritten, and counts only once
            // the replicas confirm it.
            var heldCounts = options.Value.WriteReplicas == 0;
            var held = heldCounts ? await cache.GetAsync([.. pending.Select(p => p.UserId)], cancellationToken) : new ScoreState?[pending.Count];
            var repaired = new List<(string, long)>(pending.Count);
            var stale = new List<string>();
            for (var i = 0; i < pending.Count; i++)
            {
                if (held[i] is { } state && state.Version >= pending[i].Version)
                {
                    repaired.Add((pending[i].UserId, state.Version));
                }
                else
                {
                    stale.Add(pending[i].UserId);
                }
            }

            if (stale.Count > 0)
            {
                var states = await db.LoadScoreStatesAsync(stale, activePolicy.Current, timeProvider.GetUtcNow(), cancellationToken);
                var writes = states.Select(async pair => (pair.Key, pair.Value.Version, Cached: await cache.SetAsync(pair.Key, pair.Value, CancellationToken.None)));
                foreach (var (userId, version, cached) in await Task.WhenAll(writes))
                {
                    if (cached)
                    {
                        repaired.Add((userId, version));
                    }
                }
            }

            if (repaired.Count > 0)
            {
                await db.AcknowledgeCachedAsync(repaired, cancellationToken);
            }

            metrics.CacheRepaired(repaired.Count - (pending.Count - stale.Count));
            LogSwept(repaired.Count, pending.Count);
            return pending.Count == BatchSize ? (true, pending[^1].UserId) : (false, null);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The database or Redis may be down; the next round tries again, from where this one started.
            LogSweepFailed(exception);
            return (true, after);
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Rewrote {Repaired} of {Pending} possibly stale score cache entries")]
    private partial void LogSwept(int repaired, int pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Score cache sweep failed; will retry")]
    private partial void LogSweepFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording {Count} cache acknowledgements failed; the sweep will rewrite those entries")]
    private partial void LogFlushFailed(Exception exception, int count);
}
