using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;
using Scoring.Domain.Reports;

namespace Scoring.Api.Features.Reports;

/// <summary>
/// Merges the tally rows of each past day into one row per set of attributes, so a report over a year sums
/// a few hundred rows a day, not one per written batch. A day's rows are replaced by their sums in one
/// atomic step (on PostgreSQL one statement: rows committed meanwhile are left for the next round, never
/// lost or counted twice, and replicas compacting together each merge only the rows they deleted). Today's
/// rows are left alone: writes are still adding to them.
/// </summary>
public sealed class ReportTallyCompaction(ScoringDbContext db, TimeProvider timeProvider)
{
    /// <summary>Compacts every past day that has more than one row for a set of attributes; returns how many days.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var today = ReportPeriod.DayOf(timeProvider.GetUtcNow());
        var days = await db.ReportTallies.AsNoTracking()
            .Where(t => t.Day < today)
            .GroupBy(t => new { t.Day, t.Kind, t.Category, t.Severity, t.Automated, t.Source })
            .Where(g => g.Count() > 1)
            .Select(g => g.Key.Day)
            .Distinct()
            .ToListAsync(cancellationToken);
        foreach (var day in days)
        {
            await CompactAsync(day, cancellationToken);
        }

        return days.Count;
    }

    private async Task CompactAsync(DateTimeOffset day, CancellationToken cancellationToken)
    {
        if (db.IsPostgres)
        {
            await db.Database.ExecuteSqlInterpolatedAsync($"""
                WITH gone AS (DELETE FROM report_tallies WHERE day = {day} RETURNING day, kind, category, severity, automated, source, count)
                INSERT INTO report_tallies (day, kind, category, severity, automated, source, count)
                SELECT day, kind, category, severity, automated, source, sum(count)::bigint FROM gone
                GROUP BY day, kind, category, severity, automated, source
                """, cancellationToken);
            return;
        }

        // SQLite has one writer at a time: the sums read in this transaction are of exactly the rows it deletes.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var sums = await db.ReportTallies.AsNoTracking()
            .Where(t => t.Day == day)
            .GroupBy(t => new { t.Kind, t.Category, t.Severity, t.Automated, t.Source })
            .Select(g => new ReportTally
            {
                Day = day, Kind = g.Key.Kind, Category = g.Key.Category, Severity = g.Key.Severity, Automated = g.Key.Automated, Source = g.Key.Source,
                Count = g.Sum(t => t.Count),
            })
            .ToListAsync(cancellationToken);
        await db.ReportTallies.Where(t => t.Day == day).ExecuteDeleteAsync(cancellationToken);
        db.ReportTallies.AddRange(sums);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        db.ChangeTracker.Clear();
    }
}

/// <summary>
/// Runs <see cref="ReportTallyCompaction"/> and <see cref="AppealFactReconciliation"/> at start-up and every
/// Reports:CompactionInterval.
/// </summary>
public sealed partial class ReportTallyCompactionService(
    IServiceScopeFactory scopes, IOptions<ReportsOptions> options, TimeProvider timeProvider, ILogger<ReportTallyCompactionService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var days = await scope.ServiceProvider.GetRequiredService<ReportTallyCompaction>().RunAsync(stoppingToken);
                if (days > 0)
                {
                    LogCompacted(days);
                }

                var facts = await scope.ServiceProvider.GetRequiredService<AppealFactReconciliation>().RunAsync(stoppingToken);
                if (facts > 0)
                {
                    LogReconciled(facts);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // The database may be down or not migrated yet; the next round tries again.
                LogFailed(exception);
            }
        }
        while (await timeProvider.WaitNextAsync(options.Value.CompactionInterval, stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Report tallies of {Days} past days compacted")]
    private partial void LogCompacted(int days);

    [LoggerMessage(Level = LogLevel.Information, Message = "Report facts of {Count} appeals caught up with their appeals")]
    private partial void LogReconciled(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Report maintenance failed; will retry")]
    private partial void LogFailed(Exception exception);
}
