using System.Diagnostics.Metrics;
using Grpc.Core;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Scoring.Api.Features.Operations;
using Scoring.Api.Features.Violations;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// The service's own meter, read in process: what each counter adds for a call (and what it must not add),
/// and what the gauges report. The database-wide gauges are refreshed on the app's fake clock, so a test
/// moves time to make a refresh happen and waits for it, never for a timeout.
/// </summary>
public sealed class DomainMetricsTests(TestServers servers)
{
    private const string Statement = "The linked post was satire, not harassment.";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Each_new_violation_counts_once_by_category_severity_and_automation_and_replays_and_conflicts_count_nothing()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        using var recorded = Collect<long>(app, "scoring.violations.recorded");
        var userId = NewUserId();
        var first = Violation(userId, "spam", Severity.High);

        await app.Scoring.RecordViolationAsync(first);
        await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.High));
        var replay = await app.Scoring.RecordViolationAsync(first);
        var conflicting = first.Clone();
        conflicting.Severity = Severity.Low;
        await AssertFails(StatusCode.AlreadyExists, () => app.Scoring.RecordViolationAsync(conflicting).ResponseAsync);

        // A batch: a manual report, the same report again (replays its first occurrence), an invalid item.
        var manual = Violation(userId, "harassment", Severity.Low);
        manual.Automated = false;
        var batch = new RecordViolationsRequest { Violations = { manual, manual.Clone(), Violation(userId, "no_such_category") } };
        var results = (await app.Scoring.RecordViolationsAsync(batch)).Results;

        Assert.True(replay.Duplicate);
        Assert.Equal((false, true, (int)StatusCode.InvalidArgument), (results[0].Duplicate, results[1].Duplicate, results[2].Error.Code));
        Assert.Equal(2, Sum(recorded, ("category", "spam"), ("severity", "high"), ("automated", "true")));
        Assert.Equal(1, Sum(recorded, ("category", "harassment"), ("severity", "low"), ("automated", "false")));
        Assert.Equal(3, Sum(recorded));
    }

    [Fact]
    public async Task Appeals_count_when_opened_and_when_decided_by_outcome_with_the_time_to_the_decision()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        using var submitted = Collect<long>(app, "scoring.appeals.submitted");
        using var decided = Collect<long>(app, "scoring.appeals.decided");
        using var decisionTime = Collect<double>(app, "scoring.appeal.decision");
        var contested = await RecordAsync(app, "harassment");
        var upheld = await SubmitAsync(app, contested, requestId: "r-1");
        var reduced = await SubmitAsync(app, await RecordAsync(app, "harassment"));
        var fraud = await RecordAsync(app, "fraud");

        // The same request again returns the appeal it opened: nothing new was opened.
        Assert.Equal(upheld.AppealId, (await SubmitAsync(app, contested, requestId: "r-1")).AppealId);
        app.Time.Advance(TimeSpan.FromMinutes(30));
        var overturned = await SubmitAsync(app, fraud);
        Assert.Equal((2, 1, 3), (Sum(submitted, ("category", "harassment")), Sum(submitted, ("category", "fraud")), Sum(submitted)));

        app.Time.Advance(TimeSpan.FromHours(2));
        await DecideAsync(app, upheld.AppealId, AppealDecision.Uphold);
        await DecideAsync(app, overturned.AppealId, AppealDecision.Overturn);
        await DecideAsync(app, reduced.AppealId, AppealDecision.Reduce, Severity.Low);
        // Decisions are final: a second one is refused and counts nothing.
        await AssertFails(StatusCode.FailedPrecondition, () => DecideAsync(app, upheld.AppealId, AppealDecision.Overturn));

        Assert.Equal(
            new[] { ("overturned", 1L), ("reduced", 1L), ("upheld", 1L) },
            decided.GetMeasurementSnapshot().GroupBy(m => (string)m.Tags["outcome"]!).Select(g => (g.Key, g.Sum(m => m.Value))).Order());
        // Submitted at the start (2 h 30 min before the decisions) and 30 minutes later (2 h before).
        Assert.Equal(new[] { 7200.0, 9000.0, 9000.0 }, decisionTime.GetMeasurementSnapshot().Select(m => m.Value).Order());
    }

    [Fact]
    public async Task The_open_and_overdue_gauges_report_the_last_refresh_which_the_clock_drives()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis: null);
        using var open = Collect<long>(app, "scoring.appeals.open");
        using var overdue = Collect<long>(app, "scoring.appeals.overdue");
        await StartupRefreshAsync(app);

        var early = await SubmitAsync(app, await RecordAsync(app, "harassment"));
        var decided = await SubmitAsync(app, await RecordAsync(app, "harassment"));

        // Scrapes between refreshes read what the last refresh found, not the database.
        Assert.Equal((0L, 0L), (Read(open), Read(overdue)));
        await RefreshAsync(app);
        Assert.Equal((2L, 0L), (Read(open), Read(overdue)));

        app.Time.Advance(TimeSpan.FromDays(1));
        var later = await SubmitAsync(app, await RecordAsync(app, "harassment"));
        await DecideAsync(app, decided.AppealId, AppealDecision.Uphold);
        // Past the first appeal's due time (72 h review SLA), not yet the last one's.
        app.Time.Advance(TimeSpan.FromDays(2));
        var figures = await RefreshAsync(app);

        Assert.True(figures.AsOf > early.DueAt.ToDateTimeOffset() && figures.AsOf < later.DueAt.ToDateTimeOffset());
        Assert.Equal((2L, 1L), (Read(open), Read(overdue)));
    }

    [Fact]
    public async Task The_cache_repairs_gauge_counts_the_users_whose_cache_entry_may_be_stale()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, services: services =>
        {
            services.AddSingleton(sp => new FailingScoreCache(sp.GetRequiredService<RedisScoreCache>()));
            services.AddSingleton<IScoreCache>(sp => sp.GetRequiredService<FailingScoreCache>());
        });
        using var pending = Collect<long>(app, "scoring.cache.repairs_pending");
        await StartupRefreshAsync(app);

        // Redis refuses these writes: their users stay marked until it takes them.
        app.Services.GetRequiredService<FailingScoreCache>().FailWrites = true;
        await app.Scoring.RecordViolationAsync(Violation(NewUserId()));
        await app.Scoring.RecordViolationsAsync(new RecordViolationsRequest { Violations = { Violation(NewUserId()), Violation(NewUserId()) } });
        Assert.Equal(0L, Read(pending));
        await RefreshAsync(app);

        Assert.Equal(3L, Read(pending));
    }

    [Fact]
    public async Task The_write_queue_gauges_report_the_reports_in_hand_and_the_configured_capacity()
    {
        var hook = new CommandHook();
        using var app = new ScoringApp(
            new()
            {
                ["Database:Provider"] = "Postgres",
                ["ConnectionStrings:Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
                ["Scoring:WriteQueueCapacity"] = "50",
            },
            services: services => services.AddSingleton<IInterceptor>(hook));
        var pipeline = app.Services.GetRequiredService<ViolationWritePipeline>();
        using var depth = Collect<int>(app, "scoring.write_queue.depth");
        using var capacity = Collect<int>(app, "scoring.write_queue.capacity");
        Assert.Equal((0, 50), (Read(depth), Read(capacity)));

        // Writers are held at their lock statement, so every report handed in stays in hand.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hook.OnCommand = command => command.CommandText.Contains("INSERT INTO user_score_versions", StringComparison.Ordinal) ? release.Task : Task.CompletedTask;
        var writes = new[] { 1, 2, 5 }.Select(count => pipeline.RecordAsync(Reports(count), TestContext.Current.CancellationToken)).ToList();

        Assert.Equal((8, 50), (Read(depth), Read(capacity)));
        release.SetResult();
        Assert.All(await Task.WhenAll(writes), group => Assert.All(group.Outcomes, o => Assert.False(o.Duplicate)));
    }

    private static MetricCollector<T> Collect<T>(ScoringApp app, string instrument)
        where T : struct => new(app.Services.GetRequiredService<IMeterFactory>(), ScoringMetrics.MeterName, instrument);

    /// <summary>A counter's total over the measurements carrying all these tags.</summary>
    private static long Sum(MetricCollector<long> collector, params (string Key, string Value)[] tags) =>
        collector.GetMeasurementSnapshot()
            .Where(m => tags.All(t => m.Tags.TryGetValue(t.Key, out var value) && (string?)value == t.Value))
            .Sum(m => m.Value);

    /// <summary>A gauge's value now, as a scrape reads it.</summary>
    private static T Read<T>(MetricCollector<T> gauge)
        where T : struct
    {
        gauge.RecordObservableInstruments();
        return Assert.IsType<CollectedMeasurement<T>>(gauge.LastMeasurement).Value;
    }

    /// <summary>Waits for the refresh every start makes, so that from here on refreshes happen only when the clock moves.</summary>
    private static Task StartupRefreshAsync(ScoringApp app) => RefreshedAsync(app, DateTimeOffset.MinValue);

    /// <summary>
    /// Moves the clock a refresh period at a time until a refresh at least one period from now has run,
    /// and returns its figures. The refresher arms its next wait only once a refresh finishes, so a move
    /// made while one still runs wakes nothing: the clock moves again (bounded) rather than the test waiting.
    /// </summary>
    private static async Task<LiveFigures> RefreshAsync(ScoringApp app)
    {
        var due = app.Time.GetUtcNow() + LiveFiguresRefresher.Period;
        var refreshed = RefreshedAsync(app, due);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        for (var i = 0; i < 200 && !refreshed.IsCompleted; i++)
        {
            app.Time.Advance(LiveFiguresRefresher.Period);
            await Task.WhenAny(refreshed, poll.WaitForNextTickAsync(TestContext.Current.CancellationToken).AsTask());
        }

        return await refreshed;
    }

    /// <summary>Completes with the first figures read at or after <paramref name="asOf"/>.</summary>
    private static async Task<LiveFigures> RefreshedAsync(ScoringApp app, DateTimeOffset asOf)
    {
        var refresher = app.Services.GetRequiredService<LiveFiguresRefresher>();
        var seen = new TaskCompletionSource<LiveFigures>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnRefreshed(LiveFigures figures)
        {
            if (figures.AsOf >= asOf)
            {
                seen.TrySetResult(figures);
            }
        }

        refresher.Refreshed += OnRefreshed;
        try
        {
            if (refresher.Last is { } last && last.AsOf >= asOf)
            {
                return last;
            }

            return await seen.Task.WaitAsync(Patience, TestContext.Current.CancellationToken);
        }
        finally
        {
            refresher.Refreshed -= OnRefreshed;
        }
    }

    /// <summary>A violation decided by mod-7, so that any other reviewer may decide its appeal.</summary>
    private static async Task<Violation> RecordAsync(ScoringApp app, string category)
    {
        var request = Violation(NewUserId(), category, Severity.High);
        request.DecidedBy = "mod-7";
        return (await app.Scoring.RecordViolationAsync(request)).Violation;
    }

    private static async Task<Appeal> SubmitAsync(ScoringApp app, Violation violation, string? requestId = null) =>
        await app.Appeals.SubmitAppealAsync(new SubmitAppealRequest
        {
            ViolationId = violation.ViolationId,
            UserId = violation.UserId,
            Statement = Statement,
            RequestId = requestId ?? "",
        });

    private static Task<DecideAppealResponse> DecideAsync(ScoringApp app, string appealId, AppealDecision decision, Severity newSeverity = Severity.Unspecified) =>
        app.Appeals.DecideAppealAsync(new DecideAppealRequest
        {
            AppealId = appealId,
            ReviewerId = "rev-1",
            Decision = decision,
            NewSeverity = newSeverity,
            Rationale = "Context shows satire; no target.",
        }).ResponseAsync;

    private static Domain.Violations.ViolationReport[] Reports(int count) =>
        [.. Enumerable.Range(0, count).Select(_ => new Domain.Violations.ViolationReport(
            "mod.queue", $"e-{Guid.NewGuid():N}", NewUserId(), "spam", Domain.Severity.Medium, null, null, null, null, Automated: true))];
}
