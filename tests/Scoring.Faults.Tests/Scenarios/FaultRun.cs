using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Scoring.Faults.Tests.Checks;
using Scoring.Faults.Tests.Infrastructure;
using Scoring.Faults.Tests.Load;
using Scoring.V1;

namespace Scoring.Faults.Tests.Scenarios;

/// <summary>
/// One run of fault scenarios against service processes: each scenario puts 16 writers (and a few
/// readers) on the processes, injects its fault, lets the writers drain, then checks that every
/// acknowledged event is stored exactly once and nothing unsent is stored, that no call was answered
/// INTERNAL or UNKNOWN, and that every process answers every user's score as the database says.
/// The run adds up what was sent, acknowledged, lost and doubled, and ends with one summary line.
/// </summary>
public sealed class FaultRun(string name)
{
    public const int Writers = 16;
    public const int Readers = 2;
    public const int UsersPerScenario = 40;
    public static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan AgreementWindow = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan StableRoundsApart = TimeSpan.FromSeconds(2.5);
    public const int StableRounds = 3;

    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _failures = [];
    private readonly List<string> _report = [];
    private readonly List<string> _sources = [];
    private readonly CallOutcomes _allCalls = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationToken _cancellation = TestContext.Current.CancellationToken;
    private int _sent;
    private int _acknowledged;
    private int _faults;
    private int _losses;
    private int _duplicates;

    /// <summary>A prefix no other run uses, for user ids and event ids.</summary>
    public string Id => _run;

    /// <summary>Every event source the run used (checked for strangers at the end).</summary>
    public IReadOnlyList<string> Sources => _sources;

    public void UseSource(string source) => _sources.Add(source);

    public void Fail(string check) => _failures.Add(check);

    /// <summary>Adds what a scenario's own ledger saw (for reports outside the writers' load).</summary>
    public void Count(EventLedger ledger, int losses = 0, int duplicates = 0)
    {
        _sent += ledger.SentCount;
        _acknowledged += ledger.AcknowledgedCount;
        _losses += losses;
        _duplicates += duplicates;
    }

    /// <summary>
    /// Checks that nothing is stored under a source the run never used, prints and saves the summary
    /// line (<paramref name="summaryFile"/>, beside the test assembly, which tests/run.sh prints), and
    /// fails the test with every failed check.
    /// </summary>
    public async Task FinishAsync(StoredViolations database, string summaryFile)
    {
        var strangers = await database.OutsideSourcesAsync([.. _sources]);
        if (strangers.Count > 0)
        {
            _failures.Add($"[{name}] unsent stored: violations under sources this run never used, e.g. {string.Join(", ", strangers.Select(r => $"{r.Source}/{r.EventId}"))}");
        }

        var summary = $"{name}: events sent {_sent}, acknowledged {_acknowledged}, faults injected {_faults}, " +
            $"losses {_losses}, duplicates {_duplicates}, internal {_allCalls.Internal}";
        Report("");
        Report("all calls:");
        foreach (var line in _allCalls.Describe())
        {
            Report("  " + line);
        }

        Report($"{name} took {_clock.Elapsed.TotalSeconds:0} s");
        Report(summary);
        // Beside the test assembly, so tests/run.sh prints it whether the run passed or not (the test
        // platform shows a passing test's output only when asked).
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, summaryFile), summary + "\n", CancellationToken.None);
        // The whole report beside it (what each scenario injected, its calls and notes), for a reader of a passing run.
        await File.WriteAllLinesAsync(Path.Combine(AppContext.BaseDirectory, Path.ChangeExtension(summaryFile, ".log")), _report, CancellationToken.None);

        if (_failures.Count > 0)
        {
            Assert.Fail($"{_failures.Count} checks failed:\n{string.Join('\n', _failures)}\n{summary}");
        }
    }

    public async Task RunScenarioAsync(
        string scenario,
        string title,
        ServiceProcess[] processes,
        StoredViolations database,
        ScoreAgreement agreement,
        Func<ScenarioContext, Task> inject,
        Func<ScenarioContext, Task>? before = null,
        IReadOnlyList<string>? extraUsers = null,
        IReadOnlySet<string>? erased = null,
        Func<ScenarioContext, Task>? after = null)
    {
        var context = new ScenarioContext(scenario, title, _failures);
        var users = Enumerable.Range(0, UsersPerScenario).Select(i => $"u-{_run}-{scenario}-{i:D2}").ToArray();
        var source = $"faults.{scenario}";
        _sources.Add(source);
        var ledger = new EventLedger();
        var calls = context.Calls;
        Report("");
        Report($"[{scenario}] {title}");
        LoadDriver? load = null;
        var marks = processes.Select(p => p.OutputMark).ToArray();
        try
        {
            await ServingAsync(processes, context);
            if (before is not null)
            {
                await before(context);
            }

            load = LoadDriver.Start(processes, users, source, $"{_run}-{scenario}", ledger, calls, Writers, Readers, CallDeadline);
            await load.AcknowledgedAsync(150, TimeSpan.FromSeconds(60)).WaitAsync(_cancellation);

            var fault = Stopwatch.StartNew();
            _faults++;
            await inject(context);
            var faultLasted = fault.Elapsed;

            // The service must take writes again soon after the fault ends: a batch of them, then the writers stop.
            var beforeRecovery = ledger.AcknowledgedCount;
            try
            {
                await load.AcknowledgedAsync(beforeRecovery + 2 * Writers, AgreementWindow);
            }
            catch (TimeoutException)
            {
                context.Fail("recovery", $"only {ledger.AcknowledgedCount - beforeRecovery} writes acknowledged in the {AgreementWindow.TotalSeconds:0} s after the fault ended");
            }

            var drained = await load.StopAsync(retryFor: TimeSpan.FromSeconds(20));
            load = null;
            var quiet = fault.Elapsed - faultLasted;
            context.Note($"fault lasted {faultLasted.TotalSeconds:0.0} s; writers stopped and drained {quiet.TotalSeconds:0.0} s after it ended (drain {drained.TotalSeconds:0.0} s)");

            await CheckStoredEventsAsync(context, database, source, ledger);

            var result = await agreement.AwaitAsync(
                [.. users, .. extraUsers ?? []], erased ?? new HashSet<string>(), calls, "the fault ended and the writers drained", AgreementWindow, StableRounds, StableRoundsApart);
            if (result.AgreedAfter is { } agreedAfter)
            {
                context.Note($"both processes agreed with the database {agreedAfter.TotalSeconds:0.0} s after the writers drained " +
                    $"({(quiet + agreedAfter).TotalSeconds:0.0} s after the fault ended); checked {StableRounds} more times over {(StableRounds * StableRoundsApart).TotalSeconds:0.0} s");
            }

            if (result.Failures.Count > 0)
            {
                context.Fail("scores", string.Join('\n', result.Failures));
            }

            if (after is not null)
            {
                await after(context);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            context.Fail("harness", $"the scenario stopped early: {exception}");
        }
        finally
        {
            // Never leave writers running into the next scenario.
            if (load is not null)
            {
                await load.StopAsync(retryFor: TimeSpan.Zero);
            }
        }

        _sent += ledger.SentCount;
        _acknowledged += ledger.AcknowledgedCount;
        calls.AddTo(_allCalls);
        if (calls.Internal > 0)
        {
            // What the service logged for them goes into the failure itself: a CI log shows that part first.
            var logged = processes.Zip(marks)
                .SelectMany(p => ServiceLog.InternalKinds(p.First.OutputSince(p.Second), take: 2).Select(kind => $"{p.First.Name}: {kind}"))
                .ToList();
            context.Fail("internal", $"{calls.Internal} calls answered INTERNAL or UNKNOWN ({calls.DescribeInternal()})" +
                (logged.Count > 0 ? "; the service logged:\n  " + string.Join("\n  ", logged) : "; the service logged no such failure"));
            foreach (var sample in calls.InternalSamples)
            {
                context.Note("answered " + sample);
            }
        }

        Report($"  sent {ledger.SentCount}, acknowledged {ledger.AcknowledgedCount}");
        foreach (var line in calls.Describe())
        {
            Report("  " + line);
        }

        foreach (var note in context.Notes)
        {
            Report("  " + note);
        }

        Report(context.Failed ? $"  FAILED: {context.FailureCount} checks" : "  passed");
        if (context.Failed)
        {
            foreach (var (process, mark) in processes.Zip(marks))
            {
                // The kinds of error each process logged during this scenario say why a check failed.
                var errors = ServiceLog.ErrorKinds(process.OutputSince(mark), take: 4);
                if (errors.Count > 0)
                {
                    Report($"  {process.Name} logged errors, among them:");
                    foreach (var error in errors)
                    {
                        Report("    " + error);
                    }
                }
            }
        }
    }

    /// <summary>Losses, duplicates, strangers and wrong ids among one source's stored violations.</summary>
    private async Task CheckStoredEventsAsync(ScenarioContext context, StoredViolations database, string source, EventLedger ledger)
    {
        var rows = await database.OfSourceAsync(source);
        var byEvent = rows.ToLookup(r => r.EventId, StringComparer.Ordinal);

        var lost = ledger.Acknowledged.Keys.Where(e => !byEvent.Contains(e)).Order(StringComparer.Ordinal).ToList();
        var duplicated = byEvent.Where(g => g.Count() > 1).ToList();
        var unsent = rows.Where(r => !ledger.Sent.TryGetValue(r.EventId, out var sent) || sent.UserId != r.UserId).ToList();
        var renamed = ledger.Acknowledged
            .Where(a => byEvent.Contains(a.Key) && byEvent[a.Key].All(r => r.ViolationId != a.Value))
            .ToList();

        _losses += lost.Count;
        _duplicates += duplicated.Sum(g => g.Count() - 1);
        context.Note($"stored {rows.Count} of {ledger.SentCount} sent ({ledger.SentCount - ledger.AcknowledgedCount} never acknowledged, which may or may not be stored)");
        if (lost.Count > 0)
        {
            context.Fail("losses", $"{lost.Count} acknowledged events are not stored: {string.Join(", ", lost.Take(10))}");
        }

        if (duplicated.Count > 0)
        {
            context.Fail("duplicates", $"{duplicated.Count} events are stored more than once: " +
                string.Join("; ", duplicated.Take(10).Select(g => $"{g.Key} as {string.Join(", ", g.Select(r => r.ViolationId))}")));
        }

        if (unsent.Count > 0)
        {
            context.Fail("unsent stored", $"{unsent.Count} stored violations were never sent (or not for that user): " +
                string.Join("; ", unsent.Take(10).Select(r => $"event {r.EventId} user {r.UserId} id {r.ViolationId}")));
        }

        if (renamed.Count > 0)
        {
            context.Fail("acknowledged ids", $"{renamed.Count} events are stored under another violation id than the one acknowledged: " +
                string.Join("; ", renamed.Take(10).Select(a => $"{a.Key} acknowledged as {a.Value}, stored as {string.Join(", ", byEvent[a.Key].Select(r => r.ViolationId))}")));
        }

        foreach (var anomaly in ledger.Anomalies.Take(10))
        {
            context.Fail("answers", anomaly);
        }
    }

    /// <summary>Waits (bounded) until both processes answer; a process that died on its own is a failure and is started again.</summary>
    private static async Task ServingAsync(ServiceProcess[] processes, ScenarioContext context)
    {
        foreach (var process in processes)
        {
            if (process.ProcessId is null)
            {
                context.Fail("process exited", $"{process.Name} had exited before the scenario began:\n{process.RecentOutput}");
                await process.StartAsync();
            }

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                try
                {
                    await process.Scoring.GetPolicyAsync(new GetPolicyRequest(), deadline: DateTime.UtcNow + CallDeadline);
                    break;
                }
                catch (RpcException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250));
                }
            }
        }
    }

    /// <summary>Records one report, alternating processes on retries; the acknowledged violation id, or null.</summary>
    public static async Task<string?> RecordAsync(ServiceProcess[] processes, RecordViolationRequest request, EventLedger ledger, CallOutcomes calls)
    {
        ledger.Sending(request);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        for (var attempt = 0; ; attempt++)
        {
            var process = processes[attempt % processes.Length];
            try
            {
                var response = await process.Scoring.RecordViolationAsync(request, deadline: DateTime.UtcNow + CallDeadline);
                calls.Ok(nameof(ConductScoring.ConductScoringClient.RecordViolation));
                ledger.Acknowledge(request, response, attempt, process.Name);
                return response.Violation.ViolationId;
            }
            catch (RpcException exception)
            {
                calls.Failed(nameof(ConductScoring.ConductScoringClient.RecordViolation), exception);
                if (!CallOutcomes.IsRetryable(exception) || DateTime.UtcNow >= deadline)
                {
                    return null;
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>EraseUser, retried on UNAVAILABLE or a timeout (an erasure is idempotent); the OK answer, or null.</summary>
    public static async Task<EraseUserResponse?> EraseAsync(ServiceProcess[] processes, string userId, CallOutcomes calls)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        for (var attempt = 0; ; attempt++)
        {
            var process = processes[attempt % processes.Length];
            try
            {
                var response = await process.Privacy.EraseUserAsync(
                    new EraseUserRequest { UserId = userId, Reason = "gdpr_art17_request" }, deadline: DateTime.UtcNow + CallDeadline);
                calls.Ok(nameof(Privacy.PrivacyClient.EraseUser));
                return response;
            }
            catch (RpcException exception)
            {
                calls.Failed(nameof(Privacy.PrivacyClient.EraseUser), exception);
                if (!CallOutcomes.IsRetryable(exception) || DateTime.UtcNow >= deadline)
                {
                    return null;
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>To the run's report, the test's output and the console.</summary>
    private void Report(string line)
    {
        _report.Add(line);
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.WriteLine(line);
    }
}

/// <summary>One scenario's notes, its calls and the checks it failed (added to the run's list).</summary>
public sealed class ScenarioContext(string scenario, string title, List<string> failures)
{
    private readonly List<string> _notes = [];

    public CallOutcomes Calls { get; } = new();

    public IReadOnlyList<string> Notes => _notes;

    public int FailureCount { get; private set; }

    public bool Failed => FailureCount > 0;

    public void Note(string note) => _notes.Add(note);

    public void Fail(string check, string detail)
    {
        FailureCount++;
        // One entry per failed check; its detail lines (one per user and process) indented beneath it.
        var indented = detail.Replace("\n", "\n    ", StringComparison.Ordinal);
        failures.Add(string.Create(CultureInfo.InvariantCulture, $"[{scenario}: {title}] {check}: {indented}"));
        _notes.Add($"FAIL {check}: {indented}");
    }
}
