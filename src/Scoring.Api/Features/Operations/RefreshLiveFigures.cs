using Scoring.Api.Features.Common;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Domain.Appeals;

namespace Scoring.Api.Features.Operations;

/// <summary>
/// Reads the database-wide figures the live gauges show: open appeals and those of them past due (one
/// aggregate over the review queue's index), and the users whose cache entry may be stale (a count of a
/// table that holds only what is in flight or failed).
/// </summary>
public sealed class LiveFiguresQuery(ScoringDbContext db, TimeProvider timeProvider)
{
    public async Task<LiveFigures> ReadAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var open = AppealStates.Open;
        var appeals = await db.Appeals.AsNoTracking()
            .Where(a => open.Contains(a.State))
            .GroupBy(_ => 1)
            .Select(g => new { Open = g.LongCount(), Overdue = g.LongCount(a => a.DueAt < now) })
            .SingleOrDefaultAsync(cancellationToken);
        var repairs = await db.ScoreCacheRepairs.LongCountAsync(cancellationToken);
        return new LiveFigures(appeals?.Open ?? 0, appeals?.Overdue ?? 0, repairs, now);
    }
}

/// <summary>
/// Keeps the database-wide gauges current without a query per scrape: reads <see cref="LiveFiguresQuery"/>
/// at start-up and every <see cref="Period"/> of the service's clock and hands the figures to
/// <see cref="ScoringMetrics"/>, whose gauges report the last ones read. A failed read keeps the previous
/// figures; the next period tries again.
/// </summary>
public sealed partial class LiveFiguresRefresher(
    IServiceScopeFactory scopes, ScoringMetrics metrics, TimeProvider timeProvider, ILogger<LiveFiguresRefresher> logger) : BackgroundService
{
    /// <summary>A scrape interval or two: fresh enough for gauges whose alerts wait 15 minutes or more.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(30);

    private volatile LiveFigures? _last;
    private bool _failing;

    /// <summary>Raised after each successful refresh with the figures now reported.</summary>
    public event Action<LiveFigures>? Refreshed;

    /// <summary>The figures of the last successful refresh; null before the first.</summary>
    public LiveFigures? Last => _last;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var figures = await scope.ServiceProvider.GetRequiredService<LiveFiguresQuery>().ReadAsync(stoppingToken);
                metrics.ReportLiveFigures(figures);
                _last = figures;
                _failing = false;
                Refreshed?.Invoke(figures);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // The database may be down or not migrated yet. Said once per outage, not every period.
                if (!_failing)
                {
                    LogFailed(exception);
                }

                _failing = true;
            }
        }
        while (await timeProvider.WaitNextAsync(Period, stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the live figures (open appeals, cache repairs) failed; the gauges keep their last values until a read succeeds")]
    private partial void LogFailed(Exception exception);
}
