using Microsoft.EntityFrameworkCore;
using Scoring.Api.Extensions;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// At start: the policy the service runs with (<c>Scoring:PolicyFile</c>, or the built-in default) is the
/// active stored version. With no version stored it becomes the first, active from the start, so an upgrade
/// changes no score. A policy file that changed since is stored as a new version and activated (the
/// previous one retired); a changed file that kept its version string is a configuration mistake.
/// </summary>
public sealed partial class PolicyBootstrap(ScoringDbContext db, ScoringPolicy running, TimeProvider timeProvider, ILogger<PolicyBootstrap> logger)
{
    public const string Author = "bootstrap";

    public async Task RecordRunningPolicyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RecordOnceAsync(cancellationToken);
        }
        catch (DbUpdateException exception) when (DatabaseErrors.IsUniqueViolation(exception))
        {
            // Another replica starting at the same moment recorded it first; check what it recorded.
            db.ChangeTracker.Clear();
            await RecordOnceAsync(cancellationToken);
        }
        catch (Exception exception) when (DatabaseErrors.IsUnavailable(exception) || exception is System.Data.Common.DbException)
        {
            // Down, or not migrated yet (Database:MigrateOnStartup off and the migration job still to run):
            // the service starts all the same, and the next start records the version.
            LogDeferred(logger, running.Version, exception);
        }
    }

    private async Task RecordOnceAsync(CancellationToken cancellationToken)
    {
        var hash = PolicyCanonicalForm.Hash(running);
        var active = await db.PolicyVersions.SingleOrDefaultAsync(v => v.State == PolicyVersionState.Active, cancellationToken);
        if (active is not null && active.Version == running.Version && active.ContentHash == hash)
        {
            return;
        }

        var stored = await db.PolicyVersions.SingleOrDefaultAsync(v => v.Version == running.Version, cancellationToken);
        if (stored is not null && stored.ContentHash != hash)
        {
            throw new InvalidConfigurationException(
                $"Scoring:PolicyFile: policy version '{running.Version}' is already stored with other content (SHA-256 {stored.ContentHash}); give the changed policy a new version string.");
        }

        var now = timeProvider.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (active is not null)
        {
            // First, on its own: at most one version is active at any moment (a unique index says so).
            active.Retire(now);
            await db.SaveChangesAsync(cancellationToken);
        }

        var version = stored ?? PolicyVersion.Draft(
            running, active is null ? "the policy the service started with" : "changed in Scoring:PolicyFile", Author, now);
        if (stored is null)
        {
            db.PolicyVersions.Add(version);
        }

        if (version.State == PolicyVersionState.Draft)
        {
            version.Publish(now);
        }

        version.Activate(now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogActivated(logger, version.Version, version.ContentHash, active?.Version);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Policy version {Version} (SHA-256 {Hash}) is active, recorded from the running policy; it replaces {Previous}")]
    private static partial void LogActivated(ILogger logger, string version, string hash, string? previous);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Policy version {Version} was not recorded (the database is unavailable or not migrated); the next start records it")]
    private static partial void LogDeferred(ILogger logger, string version, Exception exception);
}
