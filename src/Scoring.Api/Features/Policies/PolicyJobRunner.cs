using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// Runs policy jobs (simulations, re-scoring passes) on whichever replica takes them first: each claims a
/// waiting job, or one whose lease lapsed because its replica died, by saving it under its revision (two
/// claims conflict and one loses), then runs it a page at a time, saving its position, partial result and
/// a renewed lease after each page. A job cancelled meanwhile, or taken over after a stall, stops at its
/// next page. A resumed job goes on after the last saved page, so no user is counted twice.
/// </summary>
public sealed partial class PolicyJobRunner(
    IServiceScopeFactory scopes, PolicyJobSignal signal, IOptions<PoliciesOptions> options, TimeProvider time, ILogger<PolicyJobRunner> logger)
    : BackgroundService
{
    /// <summary>This process, as the holder of a lease: a restarted process is another holder.</summary>
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}" is var owner && owner.Length > 64
        ? owner[^64..]
        : owner;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var woken = signal.Next;
            try
            {
                while (await RunNextAsync(stoppingToken))
                {
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The database may be down or not migrated yet; the next round looks again.
                LogRoundFailed(exception);
            }

            try
            {
                await Task.WhenAny(woken, Task.Delay(options.Value.JobPollInterval, time, stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Takes the next job there is and runs it to its end (or until it is cancelled or taken over); false when there was none.</summary>
    public async Task<bool> RunNextAsync(CancellationToken cancellationToken)
    {
        string id;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
            var now = time.GetUtcNow();
            var job = await db.PolicyJobs
                .Where(j => (j.State == PolicyJobState.Pending && j.NotBefore <= now)
                    || (j.State == PolicyJobState.Running && (j.LeaseUntil <= now || j.LeaseOwner == _owner)))
                .OrderBy(j => j.CreatedAt)
                .FirstOrDefaultAsync(cancellationToken);
            if (job is null)
            {
                return false;
            }

            var resumed = job.State == PolicyJobState.Running;
            job.Claim(_owner, now, options.Value.JobLease);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateConcurrencyException)
            {
                // Another replica took it first; look for the next one.
                return true;
            }

            id = job.Id;
            LogClaimed(job.Kind, id, job.CandidateVersion, resumed ? "resumed after " + job.UsersDone + " users" : "started");
        }

        await RunAsync(id, cancellationToken);
        return true;
    }

    private async Task RunAsync(string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            await using var scope = scopes.CreateAsyncScope();
            var services = scope.ServiceProvider;
            var db = services.GetRequiredService<ScoringDbContext>();
            var job = await db.PolicyJobs.SingleAsync(j => j.Id == id, cancellationToken);
            if (job.State != PolicyJobState.Running || job.LeaseOwner != _owner)
            {
                LogStopped(job.Kind, id, job.State);
                return;
            }

            var pageStarted = time.GetTimestamp();
            try
            {
                var page = job.Kind == PolicyJobKind.Simulation
                    ? await services.GetRequiredService<PolicySimulationStep>().RunPageAsync(job, options.Value.JobPageSize, cancellationToken)
                    : await services.GetRequiredService<PolicyRescoreStep>().RunPageAsync(job, options.Value.JobPageSize, cancellationToken);
                var now = time.GetUtcNow();
                if (page.Finished)
                {
                    job.Succeed(_owner, page.Result, now);
                }
                else
                {
                    job.Advance(_owner, page.LastUserId, page.Users, page.Result, now, options.Value.JobLease);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException && !Infrastructure.Persistence.DatabaseErrors.IsUnavailable(exception))
            {
                // A job that cannot go on (a version gone, a document that no longer reads) fails with the reason; start another to retry.
                LogJobFailed(exception, job.Kind, id);
                db.ChangeTracker.Clear();
                job = await db.PolicyJobs.SingleAsync(j => j.Id == id, cancellationToken);
                if (job.State == PolicyJobState.Running && job.LeaseOwner == _owner)
                {
                    job.Fail(_owner, exception is Domain.DomainException or Common.NotFoundException ? exception.Message : "an internal error stopped it (the service's log has the details); start another", time.GetUtcNow());
                    await db.SaveChangesAsync(cancellationToken);
                }

                return;
            }

            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateConcurrencyException)
            {
                // Cancelled, or taken over after a stall, since this page began: the next look says which.
                continue;
            }

            if (job.IsFinished)
            {
                LogFinished(job.Kind, id, job.CandidateVersion, job.UsersDone);
                return;
            }

            // Never so long that the lease lapses meanwhile and another replica takes the job over.
            var share = options.Value.JobWorkShare;
            var rest = options.Value.JobPagePause + TimeSpan.FromTicks(Math.Min(
                (time.GetElapsedTime(pageStarted) * ((1 - share) / share)).Ticks, options.Value.JobLease.Ticks / 3));
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest, time, cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Policy {Kind} {Id} of {Version} {How}")]
    private partial void LogClaimed(PolicyJobKind kind, string id, string version, string how);

    [LoggerMessage(Level = LogLevel.Information, Message = "Policy {Kind} {Id} of {Version} succeeded after {Users} users")]
    private partial void LogFinished(PolicyJobKind kind, string id, string version, long users);

    [LoggerMessage(Level = LogLevel.Information, Message = "Policy {Kind} {Id} stopped here: it is {State} or held by another replica")]
    private partial void LogStopped(PolicyJobKind kind, string id, PolicyJobState state);

    [LoggerMessage(Level = LogLevel.Error, Message = "Policy {Kind} {Id} failed")]
    private partial void LogJobFailed(Exception exception, PolicyJobKind kind, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for policy jobs failed; the next round looks again")]
    private partial void LogRoundFailed(Exception exception);
}

/// <summary>What one page of a job did.</summary>
/// <param name="LastUserId">The last user looked at (the next page starts after it); null when finished.</param>
/// <param name="Result">The job's result so far, serialised; null to keep the saved one.</param>
public sealed record PolicyJobPage(bool Finished, string? LastUserId, int Users, string? Result);
