using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Scores;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using StackExchange.Redis;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Keeps a failed cache write from leaving a stale entry behind. Every failed write is recorded in the
/// database (score_cache_repairs) before the call that made it replies; every replica, whenever Redis answers (on reconnect, at start-up and
/// every <see cref="CacheOptions.BreakDuration"/>), rewrites the recorded entries from the database and
/// clears them. So the stale entry goes away even for replicas that never saw the failure, and even
/// if the replica that saw it has crashed.
/// </summary>
public sealed partial class ScoreCacheRepairService(
    IConnectionMultiplexer redis,
    RedisScoreCache cache,
    IServiceScopeFactory scopes,
    ScoringMetrics metrics,
    TimeProvider timeProvider,
    IOptions<CacheOptions> options,
    ILogger<ScoreCacheRepairService> logger) : BackgroundService
{
    private const int BatchSize = 500;

    private readonly SemaphoreSlim _wake = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            // Look once at start-up (a crashed replica may have left work), then only while there is reason to:
            // Redis came back, this replica failed a write, or the last round left entries behind.
            var look = true;
            while (!stoppingToken.IsCancellationRequested)
            {
                if (look && cache.IsAvailable)
                {
                    look = await RepairAsync(stoppingToken);
                }

                var reconnected = await _wake.WaitAsync(options.Value.BreakDuration, stoppingToken);
                look |= reconnected || cache.HasUnsynced;
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

    /// <summary>One round of repairs; true when another round is needed.</summary>
    private async Task<bool> RepairAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
            var reader = scope.ServiceProvider.GetRequiredService<ScoreReader>();

            var pending = await db.ScoreCacheRepairs.AsNoTracking()
                .OrderBy(r => r.UserId).Take(BatchSize)
                .Select(r => r.UserId)
                .ToListAsync(cancellationToken);
            if (pending.Count == 0)
            {
                return false;
            }

            var repaired = 0;
            var refreshed = await reader.RefreshAsync(pending, timeProvider.GetUtcNow(), cancellationToken);
            foreach (var (userId, (state, cached)) in refreshed)
            {
                if (cached)
                {
                    repaired += await db.ClearCacheRepairAsync(userId, state.Version, cancellationToken);
                }
            }

            metrics.CacheRepaired(repaired);
            LogRepaired(repaired, pending.Count);
            return repaired < pending.Count || pending.Count == BatchSize;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The database may be down too; the next round tries again.
            LogRepairFailed(exception.GetType().Name);
            return true;
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rewrote {Repaired} of {Pending} stale score cache entries")]
    private partial void LogRepaired(int repaired, int pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Score cache repair failed ({ErrorType}); will retry")]
    private partial void LogRepairFailed(string errorType);
}
