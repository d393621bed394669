using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;
using Scoring.Domain;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Violations;
using Scoring.Domain.Standings;

namespace Scoring.Api.Features.Privacy;

/// <summary>
/// Deletes violations, with their appeals, older than Scoring:RetentionDays past occurred_at, in bounded
/// batches, one user's record at a time (under that user's lock, so scores and cache follow). Each user's
/// purge is one aggregate audit entry. A violation that still counts (an active zero-tolerance CRITICAL
/// holding a ban) is kept: retention must not lift a permanent ban by itself.
/// </summary>
public sealed class RetentionPurge(
    ScoringDbContext db, UserRecordWriter writer, ScoringPolicy policy, IOptions<ScoringOptions> options, TimeProvider timeProvider, Reports.ReportRollup rollup)
{
    /// <summary>Purges everything due now; returns how many violations went.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var purged = 0;
        while (true)
        {
            var batch = await PurgeableAsync(cancellationToken);
            if (batch.Count == 0)
            {
                return purged;
            }

            foreach (var user in batch.GroupBy(v => v.UserId))
            {
                purged += await PurgeUserAsync(user.Key, [.. user.Select(v => v.Id)], cancellationToken);
            }
        }
    }

    private DateTimeOffset Cutoff => timeProvider.GetUtcNow() - TimeSpan.FromDays(options.Value.RetentionDays);

    private string[] ZeroTolerance => [.. policy.Categories.Where(c => c.ZeroTolerance).Select(c => c.Name)];

    private async Task<List<(string Id, string UserId)>> PurgeableAsync(CancellationToken cancellationToken)
    {
        var cutoff = Cutoff;
        var zeroTolerance = ZeroTolerance;
        var rows = await db.Violations.AsNoTracking()
            .Where(v => v.OccurredAt < cutoff)
            .Where(v => !(v.Status == ViolationStatus.Active && v.Severity == Severity.Critical && zeroTolerance.Contains(v.Category)))
            .OrderBy(v => v.OccurredAt).ThenBy(v => v.Id)
            .Take(options.Value.RetentionBatchSize)
            .Select(v => new { v.Id, v.UserId })
            .ToListAsync(cancellationToken);
        return [.. rows.Select(r => (r.Id, r.UserId))];
    }

    private async Task<int> PurgeUserAsync(string userId, string[] violationIds, CancellationToken cancellationToken)
    {
        var cutoff = Cutoff;
        var (purged, _) = await writer.WriteAsync(userId, async (change, token) =>
        {
            change.Cause = StandingChangeCause.Retention;
            // Re-checked under the lock: only what is still past the cutoff goes.
            var due = await db.Violations
                .Where(v => v.UserId == userId && violationIds.Contains(v.Id) && v.OccurredAt < cutoff)
                .Select(v => v.Id)
                .ToArrayAsync(token);
            if (due.Length == 0)
            {
                // Another run (another replica) purged them first.
                return 0;
            }

            await rollup.EndAppealsAsync(db.Appeals.Where(a => due.Contains(a.ViolationId)), change.Now, token);
            var appeals = await db.Appeals.Where(a => due.Contains(a.ViolationId)).ExecuteDeleteAsync(token);
            var violations = await db.Violations.Where(v => due.Contains(v.Id)).ExecuteDeleteAsync(token);
            rollup.ViolationsPurged(violations, change.Now);
            if (!await db.Violations.AnyAsync(v => v.UserId == userId, token))
            {
                // Nothing of the user is left: neither may the reports' link to the pseudonym.
                await rollup.ForgetUserAsync(userId, token);
            }

            change.Audit(new AuditChange(
                Actor: "retention",
                Action: AuditActions.RetentionPurged,
                TargetId: userId,
                Reason: $"older_than_{options.Value.RetentionDays}d",
                ItemCount: violations + appeals));
            return violations;
        }, cancellationToken);
        return purged;
    }
}

/// <summary>Runs <see cref="RetentionPurge"/> at start-up and every Scoring:RetentionInterval.</summary>
public sealed partial class RetentionService(
    IServiceScopeFactory scopes, IOptions<ScoringOptions> options, TimeProvider timeProvider, ILogger<RetentionService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var purged = await scope.ServiceProvider.GetRequiredService<RetentionPurge>().RunAsync(stoppingToken);
                if (purged > 0)
                {
                    LogPurged(purged);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // The database may be down or not migrated yet; the next round tries again. The whole
                // exception goes to the log (only there: no caller sees it) so the cause can be found.
                LogFailed(exception);
            }
        }
        while (await timeProvider.WaitNextAsync(options.Value.RetentionInterval, stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention purged {Count} violations")]
    private partial void LogPurged(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention purge failed; will retry")]
    private partial void LogFailed(Exception exception);
}
