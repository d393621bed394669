using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Tests.Infrastructure;
using Scoring.Faults.Tests.Checks;
using Scoring.Faults.Tests.Infrastructure;
using Scoring.Faults.Tests.Load;
using Scoring.Faults.Tests.Scenarios;
using static Scoring.Faults.Tests.Scenarios.FaultRun;
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
    private const int VictimViolations = 25;

    private readonly FaultRun _suite = new("fault suite");
    private CancellationToken _cancellation;

    [Fact(Timeout = 360_000)]
    public async Task Acknowledged_reports_survive_each_fault_exactly_once_and_both_processes_agree_with_the_database()
    {
        _cancellation = TestContext.Current.CancellationToken;
        var connectionString = await servers.Postgres.CreateDatabaseAsync();
        var environment = ServiceProcess.Settings(connectionString, $"127.0.0.1:{servers.Redis.Port}");

        using var first = new ServiceProcess("process A", environment);
        using var second = new ServiceProcess("process B", environment);
        // One after the other: both would otherwise race to migrate the new database.
        await first.StartAsync();
        await second.StartAsync();
        ServiceProcess[] processes = [first, second];
        var policy = await first.Scoring.GetPolicyAsync(new GetPolicyRequest(), deadline: DateTime.UtcNow + CallDeadline);
        var database = new StoredViolations(connectionString + ";Pooling=false");
        var agreement = new ScoreAgreement(database, processes, policy);

        await _suite.RunScenarioAsync("a", "kill -9 of process B, restarted on its port", processes, database, agreement, async _ =>
        {
            second.Kill();
            // Writers to B meanwhile get UNAVAILABLE and retry, half of them on A.
            await Task.Delay(TimeSpan.FromSeconds(1), _cancellation);
            await second.StartAsync();
        });

        await _suite.RunScenarioAsync("b", "Redis SIGSTOP for 3 s, then SIGCONT", processes, database, agreement, async _ =>
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

        await _suite.RunScenarioAsync("c", "Redis restarted empty", processes, database, agreement, _ => servers.Redis.RestartEmptyAsync());

        await _suite.RunScenarioAsync("d", "PostgreSQL pg_ctl stop -m immediate, down 3 s, started again", processes, database, agreement, async _ =>
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

        await _suite.FinishAsync(database, SummaryFile);
    }

    /// <summary>Where the last run's summary line is written.</summary>
    public const string SummaryFile = "fault-suite-summary.txt";

    /// <summary>
    /// e: a user with many violations, cached and read on both processes, is erased while Redis is down;
    /// Redis comes back more than 5 s later (past what its client would hold queued) from files saved
    /// before the erasure, which still hold the user's entry. The user must read as new everywhere, and
    /// the user's next violation must be cached and served as exactly that one violation.
    /// </summary>
    private async Task ErasureWhileRedisIsDownAsync(ServiceProcess[] processes, StoredViolations database, ScoreAgreement agreement)
    {
        var victim = $"u-{_suite.Id}-e-erased";
        var victimSource = "faults.e.erasure";
        _suite.UseSource(victimSource);
        // The victim's reports have a source of their own: its erased violations are meant to be gone.
        var victimLedger = new EventLedger();
        const string scenario = "e";
        var victimLosses = 0;
        var victimDuplicates = 0;

        await _suite.RunScenarioAsync(scenario, "erasure while Redis is down, Redis restarted from a snapshot holding the user after 6 s", processes, database, agreement,
            inject: async context =>
            {
                await servers.Redis.SaveAsync();
                servers.Redis.Kill();
                try
                {
                    var erasure = await FaultRun.EraseAsync(processes, victim, context.Calls);
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
                    var request = VictimReport(victim, victimSource, $"{_suite.Id}-victim-{i:D3}");
                    if (await FaultRun.RecordAsync(processes, request, victimLedger, context.Calls) is { } id)
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
                        context.Fail("precondition", $"{process.Name} GetScore {victim} before the erasure ({ids.Count} of {VictimViolations} reports acknowledged): {ScoreAgreement.Difference(ids, got)}");
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
                var next = VictimReport(victim, victimSource, $"{_suite.Id}-victim-next");
                var nextId = await FaultRun.RecordAsync(processes, next, victimLedger, context.Calls);
                if (nextId is null)
                {
                    context.Fail("next violation", $"RecordViolation for erased user {victim} was never acknowledged");
                    return;
                }

                var rows = await database.OfSourceAsync(victimSource);
                var nextRows = rows.Count(r => r.EventId == next.EventId);
                victimLosses += nextRows == 0 ? 1 : 0;
                victimDuplicates += Math.Max(nextRows - 1, 0);
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

        _suite.Count(victimLedger, victimLosses, victimDuplicates);
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
}
