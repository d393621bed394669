using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Violations;

/// <summary>
/// The one way violations are written, for single records and batches alike. Reports wait in a bounded
/// queue; a few writers each take whatever has arrived (up to a batch) and write it as one group, in one
/// transaction (<see cref="ViolationRecorder"/>). A lone report is written at once; under load one
/// commit, one lock statement and one cache round trip serve many calls, which is most of a write's cost
/// (tests/perf/PERFORMANCE.md). Every caller is answered only after the commit that holds its reports, so
/// an acknowledged write survives a crash. One error policy: a group that fails fails each of its
/// callers with that error, and its writer carries on.
/// </summary>
public sealed partial class ViolationWritePipeline(
    IServiceScopeFactory scopes, IOptions<ScoringOptions> options, ScoringMetrics metrics, ILogger<ViolationWritePipeline> logger) : BackgroundService
{
    /// <summary>Transactions in flight at once: enough to overlap round trips, few enough to group.</summary>
    public const int Writers = 4;

    /// <summary>A writer stops adding submissions to its group once it holds this many reports.</summary>
    public const int GroupSize = RecordViolationsCommand.MaxItems;

    private readonly Channel<Submission> _submissions = Channel.CreateUnbounded<Submission>();
    private readonly int _capacity = options.Value.WriteQueueCapacity;
    private int _queued;

    /// <summary>Reports waiting for a writer or being written.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>
    /// Queues checked reports and returns once they are committed (or throws why they were not). A full
    /// queue or a stopping service throws <see cref="UnavailableException"/> at once. A caller that gives
    /// up stops waiting, but reports already queued may still commit: a retry then replays them.
    /// </summary>
    public async Task<RecordedGroup> RecordAsync(IReadOnlyList<ViolationReport> reports, CancellationToken cancellationToken)
    {
        var queued = Interlocked.Add(ref _queued, reports.Count);
        // A submission larger than the whole queue still goes in when the queue is empty.
        if (queued > _capacity && queued != reports.Count)
        {
            Interlocked.Add(ref _queued, -reports.Count);
            throw new UnavailableException($"The write queue is full ({_capacity} reports); retry later.");
        }

        var submission = new Submission(reports);
        if (!_submissions.Writer.TryWrite(submission))
        {
            Interlocked.Add(ref _queued, -reports.Count);
            throw new UnavailableException("The service is shutting down; retry on another replica.");
        }

        return await submission.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Starts the writers; from now on the queue's depth and capacity show as gauges.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        metrics.ObserveWriteQueue(() => Queued, _capacity);
        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The writers belong to the service, not to whatever context starts them: no request's trace
        // parent or other ambient state flows into them.
        using (ExecutionContext.SuppressFlow())
        {
            return Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteLoopAsync)));
        }
    }

    /// <summary>Takes no new reports, then lets the writers finish the queued ones until the host's drain time ends.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _submissions.Writer.TryComplete();
        try
        {
            if (ExecuteTask is { } writers)
            {
                await writers.WaitAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Out of drain time: whoever still waits learns it now, rather than at their deadline.
            while (_submissions.Reader.TryRead(out var left))
            {
                Fail([left], new UnavailableException("The service stopped before writing this; retry on another replica."));
            }
        }

        await base.StopAsync(cancellationToken);
    }

    private async Task WriteLoopAsync()
    {
        var group = new List<Submission>();
        // Ends once the queue is completed and empty, so a stopping service still writes what it accepted.
        while (await _submissions.Reader.WaitToReadAsync(CancellationToken.None))
        {
            var reports = 0;
            while (reports < GroupSize && _submissions.Reader.TryRead(out var next))
            {
                group.Add(next);
                reports += next.Reports.Count;
            }

            if (group.Count > 0)
            {
                await WriteGroupAsync(group, reports);
                group.Clear();
            }
        }
    }

    private async Task WriteGroupAsync(List<Submission> group, int reportCount)
    {
        try
        {
            if (await TryWriteAsync(group, reportCount) is not { } failure)
            {
                return;
            }

            if (group.Count > 1 && (!DatabaseErrors.IsUnavailable(failure) || DatabaseErrors.IsLockNotAvailable(failure)))
            {
                // Not the database being away: one submission may be what fails (a bug its data reaches, a
                // user whose row another transaction holds past lock_timeout). Each on its own then, so
                // only that one fails and the others are written.
                LogGroupSplit(failure, group.Count, reportCount);
                foreach (var submission in group)
                {
                    if (await TryWriteAsync([submission], submission.Reports.Count) is { } own)
                    {
                        LogGroupFailed(own, 1, submission.Reports.Count);
                        Fail([submission], own);
                    }
                }

                return;
            }

            // The database is unavailable, or a bug: every caller of this group learns it; the writer goes on.
            LogGroupFailed(failure, group.Count, reportCount);
            Fail(group, failure);
        }
        finally
        {
            Interlocked.Add(ref _queued, -reportCount);
        }
    }

    /// <summary>Writes the group in one transaction and answers its callers; the failure, if it failed.</summary>
    private async Task<Exception?> TryWriteAsync(IReadOnlyList<Submission> group, int reportCount)
    {
        try
        {
            var reports = new List<ViolationReport>(reportCount);
            foreach (var submission in group)
            {
                reports.AddRange(submission.Reports);
            }

            // Not the callers' tokens: one caller giving up must not undo the others' writes.
            await using var scope = scopes.CreateAsyncScope();
            var recorded = await scope.ServiceProvider.GetRequiredService<ViolationRecorder>().RecordAsync(reports, CancellationToken.None);

            var offset = 0;
            foreach (var submission in group)
            {
                var count = submission.Reports.Count;
                submission.Completion.TrySetResult(recorded with { Outcomes = recorded.Outcomes[offset..(offset + count)] });
                offset += count;
            }

            return null;
        }
        catch (Exception exception)
        {
            return exception;
        }
    }

    private static void Fail(IEnumerable<Submission> submissions, Exception exception)
    {
        foreach (var submission in submissions)
        {
            submission.Completion.TrySetException(exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a group of {Submissions} submissions ({Reports} reports) failed; its callers get the error")]
    private partial void LogGroupFailed(Exception exception, int submissions, int reports);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a group of {Submissions} submissions ({Reports} reports) failed; writing each on its own")]
    private partial void LogGroupSplit(Exception exception, int submissions, int reports);

    private sealed class Submission(IReadOnlyList<ViolationReport> reports)
    {
        public IReadOnlyList<ViolationReport> Reports { get; } = reports;

        public TaskCompletionSource<RecordedGroup> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
