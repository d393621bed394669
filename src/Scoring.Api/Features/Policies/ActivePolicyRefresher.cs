using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Api.Options;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// Every Policies:RefreshInterval, reads which version is active and, when another replica activated a new
/// one, loads it into <see cref="ActivePolicy"/>: every replica scores under a new version within that
/// interval of its activation, with no restart. The check reads one short row; the document only on a change.
/// </summary>
public sealed partial class ActivePolicyRefresher(
    IServiceScopeFactory scopes, ActivePolicy active, IOptions<PoliciesOptions> options, TimeProvider time, ILogger<ActivePolicyRefresher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (await time.WaitNextAsync(options.Value.RefreshInterval, stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await RefreshAsync(scope.ServiceProvider.GetRequiredService<ScoringDbContext>(), stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The database may be down: the version in use stays until the next check reaches it.
                LogFailed(exception);
            }
        }
    }

    /// <summary>Loads the active version when it is not the one in use; false when there is none stored yet.</summary>
    public async Task<bool> RefreshAsync(ScoringDbContext db, CancellationToken cancellationToken)
    {
        var stored = await db.PolicyVersions.AsNoTracking()
            .Where(v => v.State == PolicyVersionState.Active)
            .Select(v => new { v.Version, v.ContentHash })
            .SingleOrDefaultAsync(cancellationToken);
        if (stored is null)
        {
            return false;
        }

        // By the rules too: a policy file may carry the active version's name with other rules.
        if (stored.Version == active.Current.Version && stored.ContentHash == active.CurrentHash)
        {
            return true;
        }

        var document = await db.PolicyVersions.AsNoTracking().Where(v => v.Version == stored.Version).Select(v => v.Document).SingleAsync(cancellationToken);
        var previous = active.Current.Version;
        if (active.Use(PolicyFile.Read(document, $"version {stored.Version}")))
        {
            LogSwitched(previous, stored.Version, stored.ContentHash);
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scoring under policy version {Version} (SHA-256 {Hash}) from now on, instead of {Previous}")]
    private partial void LogSwitched(string previous, string version, string hash);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The active policy version could not be read; the version in use stays")]
    private partial void LogFailed(Exception exception);
}
