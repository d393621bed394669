using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Scores;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using StackExchange.Redis;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Rewrites the entries whose cache write failed here as soon as Redis answers again, so that other
/// replicas (which never saw the failure) stop serving the stale entry too. Until then this process
/// itself reads those users from the database.
/// </summary>
public sealed partial class ScoreCacheRepairService(
    IConnectionMultiplexer redis,
    RedisScoreCache cache,
    IServiceScopeFactory scopes,
    ScoringMetrics metrics,
    IOptions<CacheOptions> options,
    ILogger<ScoreCacheRepairService> logger) : BackgroundService
{
    private const int ChunkSize = 500;

    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Woken by a reconnect; otherwise retry now and then while anything is left to repair.
                using var retry = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                retry.CancelAfter(options.Value.BreakDuration);
                try
                {
                    await _wake.Reader.ReadAsync(retry.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                }

                await RepairAsync(stoppingToken);
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

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => _wake.Writer.TryWrite(true);

    private async Task RepairAsync(CancellationToken cancellationToken)
    {
        var pending = cache.UnsyncedUsers;
        if (pending.Count == 0 || !redis.IsConnected)
        {
            return;
        }

        try
        {
            foreach (var chunk in pending.Chunk(ChunkSize))
            {
                // Reading an unsynced user misses the cache, loads it from the database and rewrites it.
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<ScoreReader>().GetManyAsync(chunk, includeBreakdown: false, cancellationToken);
            }

            var repaired = pending.Count - pending.Intersect(cache.UnsyncedUsers).Count();
            metrics.CacheRepaired(repaired);
            LogRepaired(repaired, pending.Count);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The database may be down too; the next wake-up tries again.
            LogRepairFailed(exception.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rewrote {Repaired} of {Pending} score cache entries after Redis returned")]
    private partial void LogRepaired(int repaired, int pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Score cache repair failed ({ErrorType}); will retry")]
    private partial void LogRepairFailed(string errorType);
}
