using Microsoft.Extensions.Options;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;

namespace Scoring.Api.Features.Standings;

/// <summary>
/// Records the standings that dropped by themselves (decay, expiry), every Scoring:StandingScanInterval on
/// every replica: users whose recorded drop is due go through <see cref="UserRecordWriter"/> with no
/// change of their own, which records each drop at the instant it happened. Replicas scanning at once
/// queue on the users' locks, and the second finds the drop already recorded, so each is written once;
/// one that was down catches up when it starts. Also removes feed entries past retention.
/// </summary>
public sealed partial class StandingDropScan(
    IServiceScopeFactory scopes, IOptions<ScoringOptions> options, TimeProvider time, ILogger<StandingDropScan> logger) : BackgroundService
{
    private const int Batch = 200;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The database may be down or not migrated yet; the next round tries again.
                LogFailed(exception);
            }
        }
        while (await time.WaitNextAsync(options.Value.StandingScanInterval, stoppingToken));
    }

    /// <summary>Records every drop due now, then purges old feed entries; returns the users looked at.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var scanned = 0;
        while (true)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
            var due = await db.LoadDueDropsAsync(time.GetUtcNow(), Batch, cancellationToken);
            var failed = 0;
            foreach (var user in due)
            {
                // Each user on its own: one whose write fails must not hold back the others.
                try
                {
                    await using var userScope = scopes.CreateAsyncScope();
                    await userScope.ServiceProvider.GetRequiredService<UserRecordWriter>()
                        .WriteAsync(user, (_, _) => Task.FromResult(true), cancellationToken, onlyRecords: true);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    failed++;
                    LogUserFailed(exception);
                }
            }

            scanned += due.Count;
            if (due.Count < Batch || failed > 0)
            {
                // A failing user stays due: the next round tries it again rather than this one spinning.
                break;
            }
        }

        await using (var purgeScope = scopes.CreateAsyncScope())
        {
            var db = purgeScope.ServiceProvider.GetRequiredService<ScoringDbContext>();
            var cutoff = time.GetUtcNow() - options.Value.StandingChangeRetention;
            while (await db.PurgeFeedAsync(cutoff, 1000, cancellationToken) == 1000)
            {
            }
        }

        return scanned;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording a user's standing drop failed; the next scan tries again")]
    private partial void LogUserFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The scan for standings that dropped by themselves failed; will retry")]
    private partial void LogFailed(Exception exception);
}
