using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Tests.Infrastructure;
using Scoring.Faults.Tests.Checks;
using Scoring.Faults.Tests.Infrastructure;
using Scoring.Faults.Tests.Load;
using Scoring.V1;
using StackExchange.Redis;

namespace Scoring.Faults.Tests;

/// <summary>
/// Two service processes on one PostgreSQL and one Redis, under 16 concurrent writers, through real
/// faults one after another: a process killed with SIGKILL, Redis stalled with SIGSTOP, Redis restarted
/// empty, PostgreSQL stopped in immediate mode, and an erasure while Redis is down followed by a restart
/// from a snapshot that still holds the erased user. After each: every acknowledged event is stored
/// exactly once and nothing unsent is stored; no call was answered INTERNAL or UNKNOWN; both processes
/// answer every user's score as the database says, and keep doing so past the cache's circuit breaker.
/// Each scenario has its own users and event source, so one scenario's damage is reported once.
/// </summary>
public sealed class FaultSuiteTests(TestServers servers)
{
    private const int Writers = 16;
    private const int Readers = 2;
    private const int UsersPerScenario = 40;
    private const int VictimViolations = 25;
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan AgreementWindow = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StableRoundsApart = TimeSpan.FromSeconds(2.5);
    private const int StableRounds = 3;

    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _failures = [];
    private readonly List<string> _sources = [];
    private readonly CallOutcomes _allCalls = new();
    private int _sent;
    private int _acknowledged;
    private int _faults;
    private int _losses;
    private int _duplicates;
    private CancellationToken _cancellation;

    [Fact(Timeout = 360_000)]
    public async Task Acknowledged_reports_survive_each_fault_exactly_once_and_both_processes_agree_with_the_database()
    {
        _cancellation = TestContext.Current.CancellationToken;
        var clock = Stopwatch.StartNew();
        var connectionString = await servers.Postgres.CreateDatabaseAsync();
        var environment = new Dictionary<string, string>
        {
            ["Database__Provider"] = "Postgres",
            ["ConnectionStrings__Scoring"] = connectionString,
            ["ConnectionStrings__Redis"] = $"127.0.0.1:{servers.Redis.Port}",
            ["Database__MigrateOnStartup"] = "true",
            ["Auth__Mode"] = "None",
            ["Auth__AllowAnonymous"] = "true",
            // One loopback address carries every call; the suite measures faults, not the rate limiter.
            ["RateLimit__Anonymous__PermitsPerSecond"] = "1000000",
            ["RateLimit__Anonymous__Burst"] = "1000000",
            // Production requires the audit chain's secret.
            ["Audit__ChainKey"] = Convert.ToBase64String("scoring-fault-suite-audit-key-32"u8),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        };

        using var first = new ServiceProcess("process A", environment);
        using var second = new ServiceProcess("process B", environment);
        // One after the other: both would otherwise race to migrate the new database.
        await first.StartAsync();
        await second.StartAsync();
        ServiceProcess[] processes = [first, second];
        var policy = await first.Scoring.GetPolicyAsync(new GetPolicyRequest(), deadline: DateTime.UtcNow + CallDeadline);
        var database = new StoredViolations(connectionString + ";Pooling=false");
        var agreement = new ScoreAgreement(database, processes, policy);

        await RunScenarioAsync("a", "kill -9 of process B, restarted on its port", processes, database, agreement, async _ =>
        {
            second.Kill();
            // Writers to B meanwhile get UNAVAILABLE and retry, half of them on A.
            await Task.Delay(TimeSpan.FromSeconds(1), _cancellation);
            await second.StartAsync();
        });

        await RunScenarioAsync("b", "Redis SIGSTOP for 3 s, then SIGCONT", processes, database, agreement, async _ =>
        {
            var pid = await servers.Redis.ProcessIdAsync();
            await ServerFaults.PauseAsync(pid);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(3), _cancellation);
            }
            finally
            {
                await ServerFaults.ResumeAsync(pid);
            }
        });

        await RunScenarioAsync("c", "Redis restarted empty", processes, database, agreement, _ => servers.Redis.RestartEmptyAsync());

        await RunScenarioAsync("d", "PostgreSQL pg_ctl stop -m immediate, down 3 s, started again", processes, database, agreement, async _ =>
        {
            var stopped = await servers.Postgres.StopImmediateAsync();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(3), _cancellation);
            }
            finally
            {
                await stopped.StartAgainAsync();
            }
        });

        await ErasureWhileRedisIsDownAsync(processes, database, agreement);

        // Every scenario checked its own source; nothing may be stored under any other.
        var strangers = await database.OutsideSourcesAsync([.. _sources]);
        if (strangers.Count > 0)
        {
            _failures.Add($"[suite] unsent stored: violations under sources this suite never used, e.g. {string.Join(", ", strangers.Select(r => $"{r.Source}/{r.EventId}"))}");
        }

        var summary = $"fault suite: events sent {_sent}, acknowledged {_acknowledged}, faults injected {_faults}, " +
            $"losses {_losses}, duplicates {_duplicates}, internal {_allCalls.Internal}";
        Report("");
        Report("all calls:");
        foreach (var line in _allCalls.Describe())
        {
            Report("  " + line);
        }

        Report($"suite took {clock.Elapsed.TotalSeconds:0} s");
        Report(summary);
        // Beside the test assembly, so tests/run.sh prints it whether the suite passed or not (the test
        // platform shows a passing test's output only when asked).
        await File.WriteAllTextAsync(SummaryFile, summary + "\n", CancellationToken.None);

        if (_failures.Count > 0)
        {
            Assert.Fail($"{_failures.Count} checks failed:\n{string.Join('\n', _failures)}\n{summary}");
        }
    }

    /// <summary>Where the last run's summary line is written.</summary>
    public static string SummaryFile => Path.Combine(AppContext.BaseDirectory, "fault-suite-summary.txt");

    /// <summary>
    /// e: a user with many violations, cached and read on both processes, is erased while Redis is down;
    /// Redis comes back more than 5 s later (past what its client would hold queued) from files saved
    /// before the erasure, which still hold the user's entry. The user must read as new everywhere, and
    /// the user's next violation must be cached and served as exactly that one violation.
    /// </summary>
    private async Task ErasureWhileRedisIsDownAsync(ServiceProcess[] processes, StoredViolations database, ScoreAgreement agreement)
    {
        var victim = $"u-{_run}-e-erased";
        var victimSource = "faults.e.erasure";
        _sources.Add(victimSource);
        // The victim's reports have a source of their own: its erased violations are meant to be gone.
        var victimLedger = new EventLedger();
        const string scenario = "e";

        await RunScenarioAsync(scenario, "erasure while Redis is down, Redis restarted from a snapshot holding the user after 6 s", processes, database, agreement,
            inject: async context =>
            {
                await servers.Redis.SaveAsync();
                servers.Redis.Kill();
                try
                {
                    var erasure = await EraseAsync(processes, victim, context.Calls);
                    if (erasure is null)
                    {
                        context.Fail("EraseUser", $"EraseUser({victim}) never answered OK while Redis was down (see the statuses)");
                    }
                    else
                    {
                        context.Note($"EraseUser({victim}) answered OK: {erasure.ViolationsErased} violations erased");
                    }

                    await Task.Delay(TimeSpan.FromSeconds(6), _cancellation);
                }
                finally
                {
                    await servers.Redis.StartAsync();
                }
            },
            before: async context =>
            {
                var ids = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < VictimViolations; i++)
                {
                    var request = VictimReport(victim, victimSource, $"{_run}-victim-{i:D3}");
                    if (await RecordAsync(processes, request, victimLedger, context.Calls) is { } id)
                    {
                        ids.Add(id);
                    }
                }

                // Cached: read on both processes (the first read of a miss writes the entry), and in Redis.
                foreach (var process in processes)
                {
                    var score = await process.Scoring.GetScoreAsync(new GetScoreRequest { UserId = victim, IncludeBreakdown = true }, deadline: DateTime.UtcNow + CallDeadline);
                    var got = score.Breakdown.Select(c => c.ViolationId).ToList();
                    if (!ids.SetEquals(got) || ids.Count != VictimViolations)
                    {
                        context.Fail("precondition", $"{process.Name} GetScore {victim} before the erasure: {ScoreAgreement.Difference(ids, got)}");
                    }
                }

                await using var redis = await servers.Redis.ConnectAsync();
                if (!await redis.GetDatabase().KeyExistsAsync(ScoreCacheKeys.Entry(victim)))
                {
                    context.Fail("precondition", $"Redis holds no entry for {victim} before the erasure, so the snapshot cannot hold one");
                }
            },
            extraUsers: [victim],
            erased: new HashSet<string>(StringComparer.Ordinal) { victim },
            after: async context =>
            {
                var stored = await database.AllOfAsync([victim]);
                if (stored[victim].Count > 0)
                {
                    context.Fail("erasure stored", $"the database still holds {stored[victim].Count} violations of erased user {victim}");
                }

                // The user starts afresh: the next violation is the only one, everywhere, and it is cached.
                var next = VictimReport(victim, victimSource, $"{_run}-victim-next");
                var nextId = await RecordAsync(processes, next, victimLedger, context.Calls);
                if (nextId is null)
                {
                    context.Fail("next violation", $"RecordViolation for erased user {victim} was never acknowledged");
                    return;
                }

                var rows = await database.OfSourceAsync(victimSource);
                var nextRows = rows.Count(r => r.EventId == next.EventId);
                _losses += nextRows == 0 ? 1 : 0;
                _duplicates += Math.Max(nextRows - 1, 0);
                if (rows.Count != 1 || rows[0].ViolationId != nextId)
                {
                    context.Fail("next violation stored", $"source {victimSource} should hold only {nextId} (event {next.EventId}); holds " +
                        string.Join(", ", rows.Select(r => $"{r.ViolationId} (event {r.EventId})")));
                }

                var result = await agreement.AwaitAsync(
                    [victim], new HashSet<string>(), context.Calls, "its next violation was acknowledged", AgreementWindow, StableRounds, StableRoundsApart);
                if (result.Failures.Count > 0)
                {
                    context.Fail("next violation served", string.Join('\n', result.Failures));
                }

                var cached = await CachedEntryAsync(victim, nextId, victimLedger.Acknowledged.Values.Where(id => id != nextId).ToHashSet(StringComparer.Ordinal));
                if (cached is not null)
                {
                    context.Fail("next violation cached", cached);
                }

                foreach (var anomaly in victimLedger.Anomalies)
                {
                    context.Fail("answers", anomaly);
                }
            });

        _sent += victimLedger.SentCount;
        _acknowledged += victimLedger.AcknowledgedCount;
    }

    private async Task RunScenarioAsync(
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
            context.Fail("internal", $"{calls.Internal} calls answered INTERNAL or UNKNOWN ({calls.DescribeInternal()})");
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
    private static async Task<string?> RecordAsync(ServiceProcess[] processes, RecordViolationRequest request, EventLedger ledger, CallOutcomes calls)
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
    private static async Task<EraseUserResponse?> EraseAsync(ServiceProcess[] processes, string userId, CallOutcomes calls)
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

    /// <summary>
    /// Polls (bounded) until Redis holds the user's entry with <paramref name="violationId"/> and none of
    /// <paramref name="erasedIds"/>; null when it does, else what it held last.
    /// </summary>
    private async Task<string?> CachedEntryAsync(string userId, string violationId, IReadOnlySet<string> erasedIds)
    {
        await using var redis = await servers.Redis.ConnectAsync();
        var key = ScoreCacheKeys.Entry(userId);
        var clock = Stopwatch.StartNew();
        var held = "";
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        do
        {
            var state = (string?)await redis.GetDatabase().HashGetAsync(key, "d");
            if (state is not null && state.Contains(violationId, StringComparison.Ordinal) && !erasedIds.Any(id => state.Contains(id, StringComparison.Ordinal)))
            {
                return null;
            }

            held = state is null
                ? "no entry"
                : $"an entry {(state.Contains(violationId, StringComparison.Ordinal) ? "with" : "without")} {violationId} and with " +
                  $"{erasedIds.Count(id => state.Contains(id, StringComparison.Ordinal))} erased violations";
        }
        while (clock.Elapsed < AgreementWindow && await poll.WaitForNextTickAsync());

        return $"{AgreementWindow.TotalSeconds:0} s after {violationId} was acknowledged, Redis holds {held} for {userId}";
    }

    private static RecordViolationRequest VictimReport(string userId, string source, string eventId) => new()
    {
        Source = source,
        EventId = eventId,
        UserId = userId,
        Category = "harassment",
        Severity = Severity.Medium,
        OccurredAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(5)),
        EvidenceRef = "cid:erasure",
        DecidedBy = "faults-suite",
        Automated = true,
    };

    /// <summary>To the test's output and to the console, so it shows in `dotnet test` output as well.</summary>
    private static void Report(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.WriteLine(line);
    }

    /// <summary>One scenario's notes, its calls and the checks it failed (added to the suite's list).</summary>
    private sealed class ScenarioContext(string scenario, string title, List<string> failures)
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
}
