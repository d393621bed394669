using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Scoring.Faults.Tests.Infrastructure;
using Scoring.V1;

namespace Scoring.Faults.Tests.Load;

/// <summary>
/// The platform's traffic during a scenario: concurrent writers that report fresh violations for a
/// bounded set of users, alternating between the service processes and sending the same event again
/// (same id, same payload) on UNAVAILABLE, DEADLINE_EXCEEDED or a lost connection, plus a few readers.
/// </summary>
public sealed class LoadDriver
{
    private static readonly string[] Categories = ["spam", "harassment", "misinformation", "fraud"];
    private static readonly Severity[] Severities = [Severity.Low, Severity.Medium, Severity.High];

    private readonly IReadOnlyList<ServiceProcess> _processes;
    private readonly IReadOnlyList<string> _users;
    private readonly string _source;
    private readonly string _eventPrefix;
    private readonly EventLedger _ledger;
    private readonly CallOutcomes _outcomes;
    private readonly TimeSpan _callDeadline;
    private readonly CancellationTokenSource _stop = new();
    private Task[] _loops = [];
    private DateTimeOffset _giveUpAt = DateTimeOffset.MaxValue;
    private AcknowledgedWait? _wait;

    private LoadDriver(IReadOnlyList<ServiceProcess> processes, IReadOnlyList<string> users, string source, string eventPrefix,
        EventLedger ledger, CallOutcomes outcomes, TimeSpan callDeadline)
    {
        _processes = processes;
        _users = users;
        _source = source;
        _eventPrefix = eventPrefix;
        _ledger = ledger;
        _outcomes = outcomes;
        _callDeadline = callDeadline;
    }

    public static LoadDriver Start(
        IReadOnlyList<ServiceProcess> processes, IReadOnlyList<string> users, string source, string eventPrefix,
        EventLedger ledger, CallOutcomes outcomes, int writers, int readers, TimeSpan callDeadline)
    {
        var driver = new LoadDriver(processes, users, source, eventPrefix, ledger, outcomes, callDeadline);
        driver._loops =
        [
            .. Enumerable.Range(0, writers).Select(w => Task.Run(() => driver.WriteAsync(w))),
            .. Enumerable.Range(0, readers).Select(r => Task.Run(() => driver.ReadAsync(r))),
        ];
        return driver;
    }

    /// <summary>Completes once <paramref name="count"/> events of this driver are acknowledged.</summary>
    public Task AcknowledgedAsync(int count, TimeSpan within)
    {
        var wait = new AcknowledgedWait(count);
        Volatile.Write(ref _wait, wait);
        wait.CompleteAt(_ledger.AcknowledgedCount);
        return wait.Reached.Task.WaitAsync(within);
    }

    /// <summary>
    /// Stops sending new events and waits for the writers to finish the ones they hold: each keeps
    /// retrying until it is acknowledged or <paramref name="retryFor"/> has passed (then it stays
    /// unacknowledged, which the checks allow). Returns how long the drain took.
    /// </summary>
    public async Task<TimeSpan> StopAsync(TimeSpan retryFor)
    {
        var started = DateTimeOffset.UtcNow;
        _giveUpAt = started + retryFor;
        await _stop.CancelAsync();
        await Task.WhenAll(_loops).WaitAsync(retryFor + _callDeadline + TimeSpan.FromSeconds(10));
        return DateTimeOffset.UtcNow - started;
    }

    private async Task WriteAsync(int writer)
    {
        var random = new Random(writer * 7919 + _eventPrefix.Length);
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            var request = new RecordViolationRequest
            {
                Source = _source,
                EventId = $"{_eventPrefix}-w{writer:D2}-{i:D6}",
                UserId = _users[random.Next(_users.Count)],
                Category = Categories[random.Next(Categories.Length)],
                Severity = Severities[random.Next(Severities.Length)],
                // Fresh: every active violation counts, so the expected score is every stored violation.
                OccurredAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(random.Next(60))),
                EvidenceRef = $"cid:{writer}-{i}",
                DecidedBy = "faults-suite",
                Automated = true,
            };
            _ledger.Sending(request);
            await SendUntilAnsweredAsync(request, first: writer + i);
        }
    }

    /// <summary>Sends one event until a process answers it, moving to the other process on each retry.</summary>
    private async Task SendUntilAnsweredAsync(RecordViolationRequest request, int first)
    {
        for (var attempt = 0; ; attempt++)
        {
            var process = _processes[(first + attempt) % _processes.Count];
            try
            {
                var response = await process.Scoring.RecordViolationAsync(request, deadline: DateTime.UtcNow + _callDeadline);
                _outcomes.Ok(nameof(ConductScoring.ConductScoringClient.RecordViolation));
                _ledger.Acknowledge(request, response, attempt, process.Name);
                Volatile.Read(ref _wait)?.CompleteAt(_ledger.AcknowledgedCount);

                return;
            }
            catch (RpcException exception)
            {
                _outcomes.Failed(nameof(ConductScoring.ConductScoringClient.RecordViolation), exception);
                if (!CallOutcomes.IsRetryable(exception) || DateTimeOffset.UtcNow >= _giveUpAt)
                {
                    // Given up (unacknowledged): pause as a client would, rather than spin on a failing service.
                    await Task.Delay(TimeSpan.FromMilliseconds(100));
                    return;
                }
            }

            // A short, growing pause: the fault may last seconds, and 16 writers should not spin on it.
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50 * (attempt + 1), 500)));
        }
    }

    private async Task ReadAsync(int reader)
    {
        var random = new Random(reader * 104729 + 17);
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            var process = _processes[(reader + i) % _processes.Count];
            var deadline = DateTime.UtcNow + _callDeadline;
            var batch = i % 2 == 0;
            var method = batch ? nameof(ConductScoring.ConductScoringClient.GetScores) : nameof(ConductScoring.ConductScoringClient.GetScore);
            try
            {
                if (batch)
                {
                    var request = new GetScoresRequest();
                    request.UserIds.AddRange(Enumerable.Range(0, 5).Select(_ => _users[random.Next(_users.Count)]).Distinct());
                    await process.Scoring.GetScoresAsync(request, deadline: deadline);
                }
                else
                {
                    await process.Scoring.GetScoreAsync(new GetScoreRequest { UserId = _users[random.Next(_users.Count)], IncludeBreakdown = true }, deadline: deadline);
                }

                _outcomes.Ok(method);
            }
            catch (RpcException exception)
            {
                _outcomes.Failed(method, exception);
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(25), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One wait for a number of acknowledged events; a new wait replaces the last.</summary>
    private sealed class AcknowledgedWait(int target)
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void CompleteAt(int acknowledged)
        {
            if (acknowledged >= target)
            {
                Reached.TrySetResult();
            }
        }
    }
}
