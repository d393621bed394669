using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// At start, with no policy version stored: the policy the service was configured with (<c>Scoring:PolicyFile</c>,
/// or the built-in default) becomes the first version, active from the start, so an upgrade changes no score.
/// Once versions exist the database is their record and a start changes none of them: the active version
/// scores, and a configured policy whose rules differ from it is logged as a warning (activate a version to
/// change the policy). Run by every start (not by the <c>migrate</c> step, which holds no audit key).
/// </summary>
public sealed partial class PolicyBootstrap(
    ScoringDbContext db, ActivePolicy active, ActivePolicyRefresher refresher, PolicyAudit audit, TimeProvider timeProvider, ILogger<PolicyBootstrap> logger)
{
    public const string Author = "bootstrap";

    public async Task RecordRunningPolicyAsync(CancellationToken cancellationToken)
    {
        var running = active.Current;
        try
        {
            await RecordOnceAsync(running, cancellationToken);
            await refresher.RefreshAsync(db, cancellationToken);
        }
        catch (DbUpdateException exception) when (DatabaseErrors.IsUniqueViolation(exception))
        {
            // Another replica starting at the same moment stored it first; compare with what it stored.
            db.ChangeTracker.Clear();
            await RecordOnceAsync(running, cancellationToken);
            await refresher.RefreshAsync(db, cancellationToken);
        }
        catch (Exception exception) when (DatabaseErrors.IsUnavailable(exception) || DatabaseErrors.IsUndefinedTable(exception))
        {
            // Down, or not migrated yet (Database:MigrateOnStartup off and the migration job still to run):
            // the service starts all the same, and the next start records the version.
            LogDeferred(logger, running.Version, exception);
        }
    }

    private async Task RecordOnceAsync(ScoringPolicy running, CancellationToken cancellationToken)
    {
        var active = await db.PolicyVersions.AsNoTracking().SingleOrDefaultAsync(v => v.State == PolicyVersionState.Active, cancellationToken);
        if (active is null)
        {
            if (!await db.PolicyVersions.AnyAsync(cancellationToken))
            {
                var first = PolicyVersion.Bootstrap(running, Author, timeProvider.GetUtcNow());
                db.PolicyVersions.Add(first);
                await audit.RecordAsync(first, AuditActions.PolicyActivated, PolicyVersionState.Unspecified, "the policy the service started with", cancellationToken, Author);
                await db.SaveChangesAsync(cancellationToken);
                LogRecorded(logger, first.Version, first.ContentHash);
            }

            return;
        }

        // Compared by the rules, re-hashed from the stored document: a later change of the canonical form
        // must not make an unchanged policy look changed.
        var runningHash = PolicyCanonicalForm.Hash(running);
        if (PolicyCanonicalForm.Hash(active.Content()) != runningHash)
        {
            LogDiffers(logger, running.Version, runningHash, active.Version, active.ContentHash);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Policy version {Version} (SHA-256 {Hash}) recorded as the first, active version")]
    private static partial void LogRecorded(ILogger logger, string version, string hash);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The configured policy {Version} (SHA-256 {Hash}) differs from the active stored version {Active} (SHA-256 {ActiveHash}); the active version scores (create, publish and activate a version to change the policy)")]
    private static partial void LogDiffers(ILogger logger, string version, string hash, string active, string activeHash);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Policy version {Version} was not recorded (the database is unavailable or not migrated); the next start records it")]
    private static partial void LogDeferred(ILogger logger, string version, Exception exception);
}
