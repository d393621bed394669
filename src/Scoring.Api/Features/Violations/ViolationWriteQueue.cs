using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Violations;

/// <summary>
/// Group commit for single records: reports that arrive while earlier ones are being written are
/// written together, in one transaction, by one of a few writers. A lone report is written at once; under
/// load, one commit, one lock statement and one cache round trip serve many calls, which is most of a
/// write's cost (tests/perf/PERFORMANCE.md). Every caller is answered only after the commit that holds
/// its report, so an acknowledged write still survives a crash.
/// </summary>
public sealed class ViolationWriteQueue : IDisposable
{
    /// <summary>Transactions in flight at once: enough to overlap round trips, few enough to batch.</summary>
    public const int Writers = 4;

    private const int MaxBatch = RecordViolationsCommand.MaxItems;

    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly IServiceScopeFactory _scopes;
    private readonly ScoringPolicy _policy;
    private readonly Task[] _writers;

    public ViolationWriteQueue(IServiceScopeFactory scopes, ScoringPolicy policy)
    {
        _scopes = scopes;
        _policy = policy;
        _writers = [.. Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteLoopAsync))];
    }

    /// <summary>Records a checked report and returns once it is committed (or throws why it was not).</summary>
    public async Task<RecordedViolation> RecordAsync(ViolationReport report, CancellationToken cancellationToken)
    {
        var pending = new Pending(report);
        if (!_pending.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(ViolationWriteQueue));
        }

        // A caller that gives up stops waiting; a report already taken may still commit, which a retry then replays.
        return await pending.Completion.Task.WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        _pending.Writer.TryComplete();
        Task.WaitAll(_writers, TimeSpan.FromSeconds(10));
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _pending.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            if (batch.Count > 0)
            {
                await WriteAsync(batch);
                batch.Clear();
            }
        }
    }

    private async Task WriteAsync(List<Pending> batch)
    {
        // Not the callers' tokens: one caller giving up must not undo the others' writes.
        await using var scope = _scopes.CreateAsyncScope();
        var recorder = scope.ServiceProvider.GetRequiredService<ViolationRecorder>();
        try
        {
            var (outcomes, at, states) = await recorder.RecordAllAsync([.. batch.Select(p => p.Report)], CancellationToken.None);
            var scores = states.ToDictionary(s => s.Key, s => ScoreCalculator.Compute(_policy, s.Value.Violations, at), StringComparer.Ordinal);
            for (var i = 0; i < batch.Count; i++)
            {
                var (violation, duplicate, error) = outcomes[i];
                if (error is null)
                {
                    batch[i].Completion.TrySetResult(new RecordedViolation(violation, scores[violation.UserId], duplicate));
                }
                else
                {
                    batch[i].Completion.TrySetException(error);
                }
            }
        }
        catch (DbUpdateException exception) when (DatabaseErrors.IsUniqueViolation(exception))
        {
            // Another call recorded one of these events after this batch looked: one by one instead.
            foreach (var pending in batch)
            {
                try
                {
                    pending.Completion.TrySetResult(await recorder.RecordOneAsync(pending.Report, CancellationToken.None));
                }
                catch (Exception one)
                {
                    pending.Completion.TrySetException(one);
                }
            }
        }
        catch (Exception exception)
        {
            // The database is unavailable or the like: every call of the batch learns it.
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(exception);
            }
        }
    }

    private sealed record Pending(ViolationReport Report)
    {
        public TaskCompletionSource<RecordedViolation> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
