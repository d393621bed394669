using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Violations;

/// <summary>
/// The one way violations are written, for single records and batches alike. Each user belongs to one
/// of a few writers (by a hash of the id), and each writer has a queue of its own (one capacity bounds
/// them together): a writer takes whatever has arrived for its users (up to a batch) and writes it as
/// one group, in one transaction (<see cref="ViolationRecorder"/>). A lone report is written at once;
/// under load one commit, one lock statement and one cache round trip serve many calls, which is most of
/// a write's cost (tests/perf/PERFORMANCE.md). Since no two writers of a process share a user, their
/// transactions do not wait for each other's row locks (random batches of 500 users almost always share
/// some, which queued every group behind the one before), and a user's reports are written in the order
/// they arrived. A batch whose users belong to several writers is split between them and answered once
/// every part has committed. The exception: a batch that repeats an event for users of different writers
/// stays whole on one writer, so that the repeat meets its first occurrence as within any group; that
/// writer may then wait for the other's locks on those users (never in a cycle: locks go in user order).
/// Every caller is answered only after the commits that hold its reports, so an acknowledged write
/// survives a crash. One error policy: a group that fails fails each of its callers with that error, and
/// its writer carries on.
/// </summary>
public sealed partial class ViolationWritePipeline(
    IServiceScopeFactory scopes, IOptions<ScoringOptions> options, ScoringMetrics metrics, ILogger<ViolationWritePipeline> logger) : BackgroundService
{
    /// <summary>
    /// Transactions in flight at once: enough to overlap one writer's round trips with the other's work,
    /// few enough that each writer's share of the reports groups well (with four, single records went in
    /// groups of 4 where two writers take about 8, and cost 1.06 ms of CPU each against 0.62 before the
    /// split: tests/perf/PERFORMANCE.md, eighth pass).
    /// </summary>
    public const int Writers = 2;

    /// <summary>A writer stops adding submissions to its group once it holds this many reports.</summary>
    public const int GroupSize = RecordViolationsCommand.MaxItems;

    private readonly Channel<Submission>[] _queues = [.. Enumerable.Range(0, Writers).Select(_ => Channel.CreateUnbounded<Submission>())];
    private readonly int _capacity = options.Value.WriteQueueCapacity;
    private int _queued;

    /// <summary>Reports waiting for a writer or being written.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>
    /// The writer a user's reports go to: the same for every report of the user, in every process (FNV-1a
    /// of the id, not the per-process randomized string hash), mixed by murmur3's finaliser before its high
    /// bits pick the writer: FNV-1a alone spreads ids that differ only in their last character poorly
    /// ("user-1" to "user-8" all landed on one writer).
    /// </summary>
    public static int WriterOf(string userId)
    {
        var hash = 2166136261u;
        foreach (var c in userId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        hash ^= hash >> 16;
        hash *= 0x85ebca6bu;
        hash ^= hash >> 13;
        hash *= 0xc2b2ae35u;
        hash ^= hash >> 16;
        return (int)(((ulong)hash * Writers) >> 32);
    }

    /// <summary>
    /// Queues checked reports and returns once they are committed (or throws why they were not). A full
    /// queue or a stopping service throws <see cref="UnavailableException"/> at once. A caller that gives
    /// up stops waiting, but reports already queued may still commit: a retry then replays them. So may
    /// the parts of a split batch that committed when another part failed.
    /// </summary>
    public async Task<RecordedGroup> RecordAsync(IReadOnlyList<ViolationReport> reports, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(reports.Count);
        var parts = Split(reports);
        var queued = Interlocked.Add(ref _queued, reports.Count);
        // A submission larger than the whole queue still goes in when the queue is empty.
        if (queued > _capacity && queued != reports.Count)
        {
            Interlocked.Add(ref _queued, -reports.Count);
            throw new UnavailableException($"The write queue is full ({_capacity} reports); retry later.");
        }

        for (var i = 0; i < parts.Count; i++)
        {
            if (!_queues[parts[i].Writer].Writer.TryWrite(parts[i]))
            {
                // Stopping: the parts already queued are still written (a retry replays them), the rest never
                // will be. Nobody waits for the queued ones now, so their failures are observed here.
                foreach (var sent in parts.Take(i))
                {
                    ObserveFailure(sent);
                }

                foreach (var unsent in parts.Skip(i))
                {
                    Interlocked.Add(ref _queued, -unsent.Reports.Count);
                }

                throw new UnavailableException("The service is shutting down; retry on another replica.");
            }
        }

        if (parts.Count == 1)
        {
            return await parts[0].Completion.Task.WaitAsync(cancellationToken);
        }

        // A caller that gives up, or a part that fails first, leaves the others' failures unawaited.
        foreach (var part in parts)
        {
            ObserveFailure(part);
        }

        var written = await Task.WhenAll(parts.Select(p => p.Completion.Task)).WaitAsync(cancellationToken);
        var outcomes = new RecordOutcome[reports.Count];
        var scores = new Dictionary<string, Domain.Scores.Score>(StringComparer.Ordinal);
        for (var i = 0; i < parts.Count; i++)
        {
            for (var r = 0; r < parts[i].Indexes!.Length; r++)
            {
                outcomes[parts[i].Indexes![r]] = written[i].Outcomes[r];
            }

            // A group's scores hold its other callers' users too; each part answers for its own.
            foreach (var report in parts[i].Reports)
            {
                scores[report.UserId] = written[i].Scores[report.UserId];
            }
        }

        return new RecordedGroup(outcomes, scores);
    }

    private static void ObserveFailure(Submission part) =>
        _ = part.Completion.Task.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    /// <summary>
    /// The reports split by writer, each part with its reports' places in the submission. An event
    /// repeated within the submission for users of different writers keeps the whole submission on one
    /// writer, so the repeat replays its first occurrence (or conflicts with it) as it does within a group:
    /// the one case where a writer writes users of another.
    /// </summary>
    private static List<Submission> Split(IReadOnlyList<ViolationReport> reports)
    {
        var writers = new int[reports.Count];
        var oneWriter = true;
        for (var i = 0; i < reports.Count; i++)
        {
            writers[i] = WriterOf(reports[i].UserId);
            oneWriter &= writers[i] == writers[0];
        }

        if (oneWriter || RepeatsAcrossWriters(reports, writers))
        {
            return [new Submission(writers[0], reports, null)];
        }

        var parts = new List<Submission>(Writers);
        for (var writer = 0; writer < Writers; writer++)
        {
            int[] indexes = [.. Enumerable.Range(0, reports.Count).Where(i => writers[i] == writer)];
            if (indexes.Length > 0)
            {
                parts.Add(new Submission(writer, [.. indexes.Select(i => reports[i])], indexes));
            }
        }

        return parts;
    }

    private static bool RepeatsAcrossWriters(IReadOnlyList<ViolationReport> reports, int[] writers)
    {
        var writerOfEvent = new Dictionary<(string Source, string EventId), int>(reports.Count);
        for (var i = 0; i < reports.Count; i++)
        {
            if (!writerOfEvent.TryAdd((reports[i].Source, reports[i].EventId), writers[i])
                && writerOfEvent[(reports[i].Source, reports[i].EventId)] != writers[i])
            {
                return true;
            }
        }

        return false;
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
            return Task.WhenAll(_queues.Select(queue => Task.Run(() => WriteLoopAsync(queue.Reader))));
        }
    }

    /// <summary>Takes no new reports, then lets the writers finish the queued ones until the host's drain time ends.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var queue in _queues)
        {
            queue.Writer.TryComplete();
        }

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
            foreach (var queue in _queues)
            {
                while (queue.Reader.TryRead(out var left))
                {
                    Fail([left], new UnavailableException("The service stopped before writing this; retry on another replica."));
                }
            }
        }

        await base.StopAsync(cancellationToken);
    }

    private async Task WriteLoopAsync(ChannelReader<Submission> queue)
    {
        var group = new List<Submission>();
        // Ends once the queue is completed and empty, so a stopping service still writes what it accepted.
        while (await queue.WaitToReadAsync(CancellationToken.None))
        {
            var reports = 0;
            while (reports < GroupSize && queue.TryRead(out var next))
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

    /// <summary>A caller's reports for one writer: all of them, or a part of a split batch with their places in it.</summary>
    private sealed class Submission(int writer, IReadOnlyList<ViolationReport> reports, int[]? indexes)
    {
        public int Writer { get; } = writer;

        public IReadOnlyList<ViolationReport> Reports { get; } = reports;

        /// <summary>Where each report stands in the caller's batch; null when the submission is the whole of it.</summary>
        public int[]? Indexes { get; } = indexes;

        public TaskCompletionSource<RecordedGroup> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
