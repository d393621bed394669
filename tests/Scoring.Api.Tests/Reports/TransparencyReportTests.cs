using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;
using DomainAppealState = Scoring.Domain.Appeals.AppealState;
using DomainStanding = Scoring.Domain.Standing;

namespace Scoring.Api.Tests.Reports;

/// <summary>
/// Issue 14: the transparency report's every figure against a direct count over a seeded history (the
/// violations, appeals and standing-change tables, read through the service's own database context), small
/// cells, retention and erasure, statements of reasons; on PostgreSQL with Redis and on SQLite.
/// </summary>
public abstract class TransparencyReportTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static readonly DateTimeOffset December = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset January = new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly string[] Sources = ["mod.queue", "notice.form", "trusted.flagger"];

    private static readonly Severity[] Severities = [Severity.Low, Severity.Medium, Severity.High, Severity.Critical];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A new, empty store (a database).</summary>
    protected abstract Task<string> NewStoreAsync();

    /// <summary>A service on <paramref name="store"/> with its own fake clock at <see cref="ScoringApp.Start"/> (2026-11-23 12:00).</summary>
    protected abstract ScoringApp NewApp(string store, Dictionary<string, string?> settings);

    private async Task<ScoringApp> NewAppAsync(int minCellSize, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Reports:MinCellSize"] = minCellSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // The feed is one of the direct counts: it keeps what this test looks at.
            ["Scoring:StandingChangeRetention"] = "365.00:00:00",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return NewApp(await NewStoreAsync(), settings);
    }

    [Fact]
    public async Task Every_figure_matches_a_direct_count_over_a_seeded_history()
    {
        // A minimum of 1 suppresses only zeros, and the history leaves no cell at zero: every figure is published.
        using var app = await NewAppAsync(minCellSize: 1);
        var categories = (await app.Scoring.GetPolicyAsync(new GetPolicyRequest(), cancellationToken: Token)).Categories.Select(c => c.Name).ToArray();

        // Before the period: four appeals, of which two are decided in it, one withdrawn in it, one still open at its end.
        var before = new List<Appeal>();
        for (var i = 0; i < 4; i++)
        {
            var violation = await RecordAsync(app, Violation(NewUserId(), "spam", Severity.High));
            before.Add(await SubmitAsync(app, violation));
        }

        At(app, December.AddHours(30));
        await DecideAsync(app, before[0], AppealDecision.Overturn);
        await DecideAsync(app, before[1], AppealDecision.Uphold);
        await app.Appeals.WithdrawAppealAsync(new WithdrawAppealRequest { AppealId = before[2].AppealId, UserId = before[2].UserId }, cancellationToken: Token);

        // In the period: every category at every severity, automated or not, from every source.
        At(app, December.AddDays(4));
        var cells = new Dictionary<(string Category, Severity Severity), RecordViolationResponse>();
        for (var c = 0; c < categories.Length; c++)
        {
            for (var s = 0; s < Severities.Length; s++)
            {
                var request = Violation(NewUserId(), categories[c], Severities[s], source: Sources[(c + s) % Sources.Length]);
                request.Automated = (c + s) % 2 == 0;
                cells[(categories[c], Severities[s])] = await app.Scoring.RecordViolationAsync(request, cancellationToken: Token);
            }
        }

        // Users who climb through every restrictive standing, one of them twice into WARNED-or-higher on two days.
        var climber = NewUserId();
        foreach (var severity in new[] { Severity.Medium, Severity.High, Severity.High, Severity.Critical, Severity.Critical, Severity.Critical })
        {
            await RecordAsync(app, Violation(climber, "fraud", severity));
        }

        // Appeals: per category the HIGH call reversed (overturned or reduced), the MEDIUM call upheld; half
        // decided within a day, half five days on (past the 72 h review SLA); two LOW calls left open, one withdrawn.
        At(app, December.AddDays(5));
        var reversedOnes = categories.Select(c => SubmitAsync(app, cells[(c, Severity.High)])).ToArray();
        var upheldOnes = categories.Select(c => SubmitAsync(app, cells[(c, Severity.Medium)])).ToArray();
        var reversed = new List<Appeal>();
        var upheld = new List<Appeal>();
        foreach (var task in reversedOnes)
        {
            reversed.Add(await task);
        }

        foreach (var task in upheldOnes)
        {
            upheld.Add(await task);
        }

        var open = new[] { await SubmitAsync(app, cells[(categories[0], Severity.Low)]), await SubmitAsync(app, cells[(categories[1], Severity.Low)]) };
        var withdrawn = await SubmitAsync(app, cells[(categories[2], Severity.Low)]);
        At(app, December.AddDays(6));
        for (var i = 0; i < categories.Length; i += 2)
        {
            await DecideAsync(app, reversed[i], i % 4 == 0 ? AppealDecision.Overturn : AppealDecision.Reduce);
            await DecideAsync(app, upheld[i], AppealDecision.Uphold);
        }

        await app.Appeals.WithdrawAppealAsync(new WithdrawAppealRequest { AppealId = withdrawn.AppealId, UserId = withdrawn.UserId }, cancellationToken: Token);
        At(app, December.AddDays(10));
        for (var i = 1; i < categories.Length; i += 2)
        {
            await DecideAsync(app, reversed[i], i % 4 == 1 ? AppealDecision.Reduce : AppealDecision.Overturn);
            await DecideAsync(app, upheld[i], AppealDecision.Uphold);
        }

        // After the period: a decision and a violation that December must not count.
        At(app, January.AddDays(2));
        await DecideAsync(app, before[3], AppealDecision.Uphold);
        await RecordAsync(app, Violation(NewUserId(), "spam", Severity.Low));

        var report = await app.Reports.GetTransparencyReportAsync(Period(December, January), cancellationToken: Token);
        var expected = await DirectCountsAsync(app, December, January);
        var figures = Assert.Single(report.Periods);

        // Violations.
        Assert.Equal(expected.Violations.Length, Value(figures.Violations.Total));
        Assert.Equal(expected.Violations.Count(v => v.Automated), Value(figures.Violations.Automated));
        Assert.Equal(expected.Violations.Count(v => !v.Automated), Value(figures.Violations.Human));
        Assert.Equal(categories.Length * 4, figures.Violations.ByCategorySeverity.Count);
        Assert.All(figures.Violations.ByCategorySeverity, cell => Assert.Equal(
            expected.Violations.Count(v => v.Category == cell.Category && (Severity)v.ReportedSeverity == cell.Severity), Value(cell.Count)));
        Assert.Equal(Sources.Order(), figures.Violations.BySource.Select(s => s.Source).Order());
        Assert.All(figures.Violations.BySource, s => Assert.Equal(expected.Violations.Count(v => v.Source == s.Source), Value(s.Count)));

        // Restrictions: distinct users who moved up into each standing, from the feed of standing changes.
        var entries = expected.Changes.Where(c => c.Standing >= DomainStanding.Warned && (c.Standing > c.PreviousStanding || (c.Permanent && c.Standing == DomainStanding.Banned))).ToArray();
        Assert.Equal(
            [DomainStanding.Warned, DomainStanding.Restricted, DomainStanding.Suspended, DomainStanding.Banned],
            figures.Restrictions.UsersEntered.Select(s => (DomainStanding)s.Standing));
        Assert.All(figures.Restrictions.UsersEntered, s => Assert.Equal(
            entries.Where(e => e.Standing == (DomainStanding)s.Standing).Select(e => e.UserId).Distinct().Count(), Value(s.Users)));
        Assert.Equal(entries.Where(e => e.Permanent).Select(e => e.UserId).Distinct().Count(), Value(figures.Restrictions.UsersPermanentlyBanned));

        // Appeals, decisions in the period of appeals submitted before it included.
        var appeals = expected.Appeals;
        var decided = appeals.Where(a => a.State is DomainAppealState.Upheld or DomainAppealState.Overturned or DomainAppealState.Reduced && In(a.DecidedAt)).ToArray();
        Assert.Contains(decided, a => a.SubmittedAt < December);
        Assert.Equal(appeals.Count(a => In(a.SubmittedAt)), Value(figures.Appeals.Submitted));
        Assert.Equal(appeals.Count(a => a.State == DomainAppealState.Withdrawn && In(a.DecidedAt)), Value(figures.Appeals.Withdrawn));
        Assert.Equal(decided.Length, Value(figures.Appeals.Decided));
        Assert.Equal(decided.Count(a => a.State == DomainAppealState.Upheld), Value(figures.Appeals.Upheld));
        Assert.Equal(decided.Count(a => a.State == DomainAppealState.Overturned), Value(figures.Appeals.Overturned));
        Assert.Equal(decided.Count(a => a.State == DomainAppealState.Reduced), Value(figures.Appeals.Reduced));
        Assert.Equal(appeals.Count(a => a.SubmittedAt < January && (a.DecidedAt is null || a.DecidedAt >= January)), Value(figures.Appeals.OpenAtEnd));
        Assert.Equal(decided.Count(a => a.DecidedAt > a.DueAt), Value(figures.Appeals.DecidedPastSla));
        Assert.Equal(decided.Count(a => a.DecidedAt <= a.DueAt), Value(figures.Appeals.DecidedWithinSla));
        var times = decided.Select(a => a.DecidedAt!.Value - a.SubmittedAt).Order().ToArray();
        Assert.Equal(NearestRank(times, 0.5), figures.Appeals.MedianTimeToDecision.ToTimeSpan());
        Assert.Equal(NearestRank(times, 0.9), figures.Appeals.P90TimeToDecision.ToTimeSpan());
        AssertReversal(decided, figures.Appeals.Reversal);
        AssertReversal(decided.Where(a => expected.Automated[a.ViolationId]), figures.Appeals.ReversalAutomated);
        AssertReversal(decided.Where(a => !expected.Automated[a.ViolationId]), figures.Appeals.ReversalHuman);
        Assert.All(figures.Appeals.ReversalByCategory, c => AssertReversal(decided.Where(a => expected.Categories[a.ViolationId] == c.Category), c.Reversal));

        // Nothing purged or erased: zero, so suppressed.
        Assert.True(figures.Retention.ViolationsPurged.Suppressed && figures.Retention.UsersErased.Suppressed);

        // Per month, December's figures are the same, but for who was open at its end: November decided nothing
        // (0, suppressed), which the months' balance would give back, so no month shows that.
        var months = await app.Reports.GetTransparencyReportAsync(
            Period(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero), ReportGrouping.Month), cancellationToken: Token);
        Assert.Equal(["2026-11-01", "2026-12-01", "2027-01-01"], months.Periods.Select(p => p.PeriodStart.ToDateTimeOffset().ToString("yyyy-MM-dd")));
        var december = months.Periods[1].Clone();
        Assert.True(months.Periods.All(p => p.Appeals.OpenAtEnd.Suppressed) && months.Periods[0].Appeals.Decided.Suppressed);
        december.Appeals.OpenAtEnd = figures.Appeals.OpenAtEnd;
        Assert.Equal(figures, december);
        Assert.Equal(4, Value(months.Periods[0].Violations.Total));
        Assert.Equal(1, Value(months.Periods[2].Violations.Total));
        Assert.Equal(1, Value(months.Periods[2].Appeals.Decided));

        // Over HTTP: the same report as JSON.
        using var http = app.CreateClient();
        var json = await http.GetStringAsync("/v1/reports/transparency?from=2026-12-01&to=2026-12-31", Token);
        var overHttp = JsonParser.Default.Parse<TransparencyReport>(json);
        Assert.Equal(figures, Assert.Single(overHttp.Periods));

        bool In(DateTimeOffset? at) => at >= December && at < January;
    }

    [Fact]
    public async Task Small_counts_are_suppressed_and_cannot_be_recovered_by_subtraction_from_a_total()
    {
        using var app = await NewAppAsync(minCellSize: 10);
        At(app, December.AddHours(1));
        await RecordManyAsync(app, "spam", Severity.High, 25);
        await RecordManyAsync(app, "fraud", Severity.Low, 12);
        await RecordManyAsync(app, "harassment", Severity.Medium, 3);

        var report = await app.Reports.GetTransparencyReportAsync(Period(December, December.AddDays(1)), cancellationToken: Token);
        var violations = Assert.Single(report.Periods).Violations;

        // The total is published; 3 alone would be 40 − 25 − 12, so the 12 goes with it: only 25 is shown.
        Assert.Equal(40, Value(violations.Total));
        var published = violations.ByCategorySeverity.Where(c => !c.Count.Suppressed).ToArray();
        var shown = Assert.Single(published);
        Assert.Equal(("spam", Severity.High, 25L), (shown.Category, shown.Severity, shown.Count.Value));
        Assert.All(violations.ByCategorySeverity.Where(c => c.Count.Suppressed), c => Assert.False(c.Count.HasValue));
        // What a reader can work out of the suppressed cells: 15 between them, not below the minimum.
        Assert.True(Value(violations.Total) - published.Sum(c => c.Count.Value) >= 10);
        // Every count published anywhere in the report is at least the minimum.
        Assert.All(AllCounts(report), count => Assert.True(count.Suppressed || count.Value >= 10, $"{count} is published below the minimum"));

        // And the CSV says suppressed, never the value.
        using var http = app.CreateClient();
        var csv = await http.GetStringAsync("/v1/reports/transparency.csv?from=2026-12-01&to=2026-12-01", Token);
        Assert.Contains("violations_by_category_severity,2026-12-01,2026-12-02,harassment,MEDIUM,suppressed", csv, StringComparison.Ordinal);
        Assert.Contains("violations_by_category_severity,2026-12-01,2026-12-02,fraud,LOW,suppressed", csv, StringComparison.Ordinal);
        Assert.Contains("violations_by_category_severity,2026-12-01,2026-12-02,spam,HIGH,25", csv, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_past_periods_figures_survive_erasure_and_retention_which_are_counted_when_they_happen()
    {
        using var app = await NewAppAsync(minCellSize: 1, new() { ["Scoring:RetentionDays"] = "30" });
        At(app, December.AddHours(1));
        var erased = NewUserId();
        var kept = NewUserId();
        var appealed = await RecordAsync(app, Violation(erased, "spam", Severity.High));
        await RecordAsync(app, Violation(erased, "spam", Severity.High));
        for (var i = 0; i < 3; i++)
        {
            await RecordAsync(app, Violation(kept, "fraud", Severity.High));
        }

        await SubmitAsync(app, appealed);
        var firstDay = Period(December, December.AddDays(1));
        var before = await app.Reports.GetTransparencyReportAsync(firstDay, cancellationToken: Token);
        var entriesBefore = await EntriesAsync(app);
        Assert.Contains(entriesBefore, e => e.UserKey == erased);
        Assert.Contains(entriesBefore, e => e.UserKey == kept);

        // Erasure on the 5th: the user's open appeal ends there without a decision.
        At(app, December.AddDays(4).AddHours(1));
        await app.Privacy.EraseUserAsync(new EraseUserRequest { UserId = erased, Reason = "gdpr.art17" }, cancellationToken: Token);
        await app.Privacy.EraseUserAsync(new EraseUserRequest { UserId = erased, Reason = "gdpr.art17" }, cancellationToken: Token);
        // Retention (30 days) purges the rest on 1 January, at its next round.
        At(app, January.AddHours(2));
        await app.Logs.WaitForAsync(e => e.Message == "Retention purged 3 violations", Bound);
        await using (var scope = app.Services.CreateAsyncScope())
        {
            Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<ScoringDbContext>().Violations.CountAsync(Token));
        }

        // The entries stay, one random key per user in place of each pseudonym (erased, or purged to nothing).
        var entriesAfter = await EntriesAsync(app);
        Assert.DoesNotContain(entriesAfter, e => e.UserKey == erased || e.UserKey == kept);
        Assert.Equal(entriesBefore.Count, entriesAfter.Count);
        Assert.Equal(entriesBefore.Select(e => e.UserKey).Distinct().Count(), entriesAfter.Select(e => e.UserKey).Distinct().Count());

        var after = await app.Reports.GetTransparencyReportAsync(firstDay, cancellationToken: Token);
        var erasureDay = Assert.Single((await app.Reports.GetTransparencyReportAsync(Period(December.AddDays(4), December.AddDays(5)), cancellationToken: Token)).Periods);
        var purgeDay = Assert.Single((await app.Reports.GetTransparencyReportAsync(Period(January, January.AddDays(1)), cancellationToken: Token)).Periods);

        Assert.Equal(5, Value(before.Periods[0].Violations.Total));
        Assert.Equal(before.Periods[0].Violations, after.Periods[0].Violations);
        Assert.True(before.Periods[0].Restrictions.UsersEntered.Sum(s => s.Users.Value) >= 2, "both users entered a restrictive standing");
        Assert.Equal(before.Periods[0].Restrictions, after.Periods[0].Restrictions);
        Assert.Equal(1, Value(after.Periods[0].Appeals.Submitted));
        Assert.Equal((1L, 1L), (Value(erasureDay.Retention.UsersErased), Value(erasureDay.Appeals.Withdrawn)));
        Assert.True(erasureDay.Retention.ViolationsPurged.Suppressed);
        Assert.Equal(3, Value(purgeDay.Retention.ViolationsPurged));
    }

    private static async Task<List<ReportStandingEntry>> EntriesAsync(ScoringApp app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ScoringDbContext>().ReportStandingEntries.AsNoTracking().ToListAsync(Token);
    }

    [Fact]
    public async Task Past_days_tallies_are_compacted_to_one_row_per_set_of_attributes_and_the_figures_stay()
    {
        using var app = await NewAppAsync(minCellSize: 1);
        At(app, December.AddHours(1));
        // Separate writes: one tally row each, then a batch of several sets of attributes.
        await RecordManyAsync(app, "spam", Severity.High, 4);
        var batch = new RecordViolationsRequest();
        batch.Violations.AddRange(Enumerable.Range(0, 6).Select(i => Violation(NewUserId(), i % 2 == 0 ? "spam" : "fraud", Severity.High)));
        await app.Scoring.RecordViolationsAsync(batch, cancellationToken: Token);
        var before = await app.Reports.GetTransparencyReportAsync(Period(December, December.AddDays(1)), cancellationToken: Token);

        // The next day's round compacts the day before; today's rows are left to the writes still adding to them.
        await RecordManyAsync(app, "fraud", Severity.Low, 1);
        At(app, December.AddDays(1).AddHours(1));
        await app.Logs.WaitForAsync(e => e.Message == "Report tallies of 1 past days compacted", Bound);
        await RecordManyAsync(app, "spam", Severity.High, 2);
        int compacted;
        List<ReportTally> rows;
        await using (var scope = app.Services.CreateAsyncScope())
        {
            // Nothing is left to compact: a second round (another replica's, say) changes nothing.
            compacted = await scope.ServiceProvider.GetRequiredService<Api.Features.Reports.ReportTallyCompaction>().RunAsync(Token);
            rows = await scope.ServiceProvider.GetRequiredService<ScoringDbContext>().ReportTallies.AsNoTracking().ToListAsync(Token);
        }

        var after = await app.Reports.GetTransparencyReportAsync(Period(December, December.AddDays(1)), cancellationToken: Token);
        var firstDay = rows.Where(r => r.Day == December).ToArray();
        Assert.Equal(0, compacted);
        Assert.Equal([("fraud", Severity.Low, 1L), ("fraud", Severity.High, 3L), ("spam", Severity.High, 7L)], firstDay.OrderBy(r => r.Category).ThenBy(r => r.Severity).Select(r => (r.Category, (Severity)r.Severity, r.Count)));
        Assert.Equal(2, rows.Count(r => r.Day == December.AddDays(1)));
        Assert.Equal(Value(before.Periods[0].Violations.Total) + 1, Value(after.Periods[0].Violations.Total));
        Assert.Equal(11, Value(after.Periods[0].Violations.Total));
    }

    [Fact]
    public async Task Appeals_an_earlier_release_wrote_without_their_facts_are_caught_up()
    {
        using var app = await NewAppAsync(minCellSize: 1);
        At(app, December.AddHours(1));
        var open = await SubmitAsync(app, await RecordAsync(app, Violation(NewUserId(), "fraud", Severity.High)));
        var decided = await SubmitAsync(app, await RecordAsync(app, Violation(NewUserId(), "spam", Severity.High)));
        At(app, December.AddHours(5));
        await DecideAsync(app, decided, AppealDecision.Overturn);
        var report = await app.Reports.GetTransparencyReportAsync(Period(December, January), cancellationToken: Token);

        // What a replica of the release before reports would leave: no fact for the appeal it opened, and an
        // open fact for the one it decided.
        int caughtUp;
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
            await db.AppealFacts.Where(f => f.AppealId == open.AppealId).ExecuteDeleteAsync(Token);
            await db.AppealFacts.Where(f => f.AppealId == decided.AppealId)
                .ExecuteUpdateAsync(f => f.SetProperty(x => x.State, DomainAppealState.Submitted).SetProperty(x => x.ClosedAt, (DateTimeOffset?)null), Token);
            var broken = await app.Reports.GetTransparencyReportAsync(Period(December, January), cancellationToken: Token);
            Assert.NotEqual(report.Periods[0].Appeals, broken.Periods[0].Appeals);
            caughtUp = await scope.ServiceProvider.GetRequiredService<Api.Features.Reports.AppealFactReconciliation>().RunAsync(Token);
        }

        var repaired = await app.Reports.GetTransparencyReportAsync(Period(December, January), cancellationToken: Token);
        Assert.Equal(2, caughtUp);
        Assert.Equal(report.Periods[0].Appeals, repaired.Periods[0].Appeals);
        Assert.Equal((2L, 1L, 1L), (Value(repaired.Periods[0].Appeals.Submitted), Value(repaired.Periods[0].Appeals.Decided), Value(repaired.Periods[0].Appeals.OpenAtEnd)));
    }

    [Fact]
    public async Task Statements_of_reasons_map_the_policy_carry_no_user_id_or_evidence_and_come_in_batches_of_at_most_100()
    {
        using var app = await NewAppAsync(minCellSize: 1);
        var policy = (await app.Scoring.GetPolicyAsync(new GetPolicyRequest(), cancellationToken: Token)).Clone();
        policy.Version = "dsa-mapped";
        policy.Categories.Single(c => c.Name == "fraud").DsaCategory = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD";
        policy.SourceTypes["notice.form"] = "SOURCE_ARTICLE_16";
        await app.Policies.CreatePolicyDraftAsync(new CreatePolicyDraftRequest { Policy = policy }, cancellationToken: Token);
        await app.Policies.PublishPolicyDraftAsync(new PublishPolicyDraftRequest { Version = policy.Version }, cancellationToken: Token);
        await app.Policies.ActivatePolicyAsync(new ActivatePolicyRequest { Version = policy.Version, Reason = "DSA mapping" }, cancellationToken: Token);

        At(app, December.AddHours(3));
        var users = Enumerable.Range(0, 15).Select(_ => NewUserId()).ToArray();
        var evidence = new List<string>();
        var recorded = new List<RecordViolationResponse>();
        for (var i = 0; i < 150; i++)
        {
            var request = Violation(users[i % users.Length], i % 3 == 0 ? "fraud" : "spam", Severity.Low, source: i % 2 == 0 ? "notice.form" : "mod.queue");
            request.EvidenceRef = $"cid:evidence-{Guid.NewGuid():N}";
            request.Note = $"Listing {i} asked for payment outside the platform";
            request.DecisionGround = i % 5 == 0 ? DecisionGround.IllegalContent : DecisionGround.Unspecified;
            request.LegalGround = i % 5 == 0 ? "Consumer protection law, section 5" : "";
            request.Automated = i % 4 == 0;
            evidence.Add(request.EvidenceRef);
            recorded.Add(await app.Scoring.RecordViolationAsync(request, cancellationToken: Token));
        }

        // One user driven to a suspension: that violation's statement says the account was suspended.
        var suspended = NewUserId();
        RecordViolationResponse last;
        do
        {
            last = await RecordAsync(app, Violation(suspended, "fraud", Severity.Critical));
        }
        while (last.Score.Standing < Standing.Suspended);

        using var call = app.Reports.ExportStatementsOfReasons(new ExportStatementsOfReasonsRequest
        {
            PeriodStart = Timestamp.FromDateTimeOffset(December),
            PeriodEnd = Timestamp.FromDateTimeOffset(January),
        }, cancellationToken: Token);
        var batches = await call.ResponseStream.ReadAllAsync(Token).ToListAsync(Token);
        var statements = batches.SelectMany(b => b.Statements).ToDictionary(s => s.Puid);

        Assert.Equal([100, 50 + (statements.Count - 150)], batches.Select(b => b.Statements.Count));
        Assert.All(recorded, r =>
        {
            var statement = statements[r.Violation.ViolationId];
            var illegal = r.Violation.DecisionGround == DecisionGround.IllegalContent;
            Assert.Equal(illegal ? "DECISION_GROUND_ILLEGAL_CONTENT" : "DECISION_GROUND_INCOMPATIBLE_CONTENT", statement.DecisionGround);
            Assert.Equal(illegal ? r.Violation.LegalGround : "", statement.IllegalContentLegalGround);
            Assert.Equal(r.Violation.Category == "fraud" ? "STATEMENT_CATEGORY_SCAMS_AND_FRAUD" : "", statement.Category);
            Assert.Equal(r.Violation.Source == "notice.form" ? "SOURCE_ARTICLE_16" : "", statement.SourceType);
            Assert.Equal(r.Violation.Note, statement.DecisionFacts);
            Assert.Equal(r.Violation.Automated ? ("Yes", "AUTOMATED_DECISION_FULLY") : ("No", "AUTOMATED_DECISION_NOT_AUTOMATED"), (statement.AutomatedDetection, statement.AutomatedDecision));
            Assert.Equal(("2026-12-01", "2026-12-01"), (statement.ContentDate, statement.ApplicationDate));
        });
        // What the recording did to the account, kept then: the earlier violations of the user (below
        // SUSPENDED) say nothing, and an overturn later does not rewrite what the account went through.
        Assert.Equal("DECISION_ACCOUNT_SUSPENDED", statements[last.Violation.ViolationId].DecisionAccount);
        Assert.All(recorded, r => Assert.Equal(AccountOf(r.Score), statements[r.Violation.ViolationId].DecisionAccount));
        await DecideAsync(app, await SubmitAsync(app, last), AppealDecision.Overturn);
        using var again = app.Reports.ExportStatementsOfReasons(new ExportStatementsOfReasonsRequest
        {
            PeriodStart = Timestamp.FromDateTimeOffset(December),
            PeriodEnd = Timestamp.FromDateTimeOffset(January),
        }, cancellationToken: Token);
        var afterOverturn = (await again.ResponseStream.ReadAllAsync(Token).ToListAsync(Token)).SelectMany(b => b.Statements).Single(s => s.Puid == last.Violation.ViolationId);
        Assert.Equal("DECISION_ACCOUNT_SUSPENDED", afterOverturn.DecisionAccount);

        // Over HTTP, newline-delimited JSON in the database's field names; nowhere a user id or an evidence reference.
        using var http = app.CreateClient();
        var ndjson = await http.GetStringAsync("/v1/reports/statements-of-reasons?from=2026-12-01&to=2026-12-31", Token);
        var lines = ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(batches.Count, lines.Length);
        Assert.All(lines, line => Assert.InRange(JsonDocument.Parse(line).RootElement.GetProperty("statements").GetArrayLength(), 1, 100));
        Assert.Contains("\"decision_ground\"", lines[0], StringComparison.Ordinal);
        foreach (var secret in users.Append(suspended).Concat(evidence))
        {
            Assert.DoesNotContain(secret, ndjson, StringComparison.Ordinal);
            Assert.All(batches, b => Assert.DoesNotContain(secret, b.ToString(), StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_report_run_is_audited_on_the_system_chain_and_a_bad_period_is_refused_naming_the_field()
    {
        using var app = await NewAppAsync(minCellSize: 10);
        await app.Reports.GetTransparencyReportAsync(Period(December, January, ReportGrouping.Month), cancellationToken: Token);
        using var http = app.CreateClient();
        await http.GetStringAsync("/v1/reports/statements-of-reasons?from=2026-12-01&to=2026-12-31", Token);

        var entries = (await app.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { System = true, PageSize = 100 }, cancellationToken: Token)).Entries;
        var runs = entries.Where(e => e.Action.StartsWith("report.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(
            [("report.transparency", "2026-12-01/2027-01-01", "group_by=month"), ("report.statements", "2026-12-01/2027-01-01", "statements_of_reasons")],
            runs.Select(e => (e.Action, e.TargetId, e.Reason)));
        Assert.True((await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { System = true }, cancellationToken: Token)).Valid);

        var notMidnight = Period(December.AddHours(1), January);
        var backwards = Period(January, December);
        await AssertInvalid("period_start", () => app.Reports.GetTransparencyReportAsync(notMidnight, cancellationToken: Token).ResponseAsync);
        await AssertInvalid("period_end", () => app.Reports.GetTransparencyReportAsync(backwards, cancellationToken: Token).ResponseAsync);
        await AssertInvalid("period_end", () => app.Reports.GetTransparencyReportAsync(new GetTransparencyReportRequest { PeriodStart = notMidnight.PeriodEnd }, cancellationToken: Token).ResponseAsync);
        await AssertInvalid("group_by", () => app.Reports.GetTransparencyReportAsync(Period(December, January, (ReportGrouping)9), cancellationToken: Token).ResponseAsync);
        var status = await AssertFails(StatusCode.InvalidArgument, async () =>
        {
            using var stream = app.Reports.ExportStatementsOfReasons(new ExportStatementsOfReasonsRequest { PeriodEnd = notMidnight.PeriodEnd }, cancellationToken: Token);
            await stream.ResponseStream.MoveNext(Token);
        });
        AssertNamesField(status, "period_start");

        using var missing = await http.GetAsync("/v1/reports/transparency?to=2026-12-31", Token);
        using var malformed = await http.GetAsync("/v1/reports/transparency.csv?from=2026-12-01&to=31.12.2026", Token);
        using var lastDay = await http.GetAsync("/v1/reports/statements-of-reasons?from=2026-12-01&to=9999-12-31", Token);
        using var reversed = await http.GetAsync("/v1/reports/transparency?from=2026-12-31&to=2026-12-01", Token);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("\"field\": \"from\"", await missing.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Contains("\"field\": \"to\"", await malformed.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, lastDay.StatusCode);
        Assert.Contains("to must be a date between 1970 and 9000", await lastDay.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
        // The queries' own rules, in the names the caller used.
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, reversed.StatusCode);
        var body = await reversed.Content.ReadAsStringAsync(Token);
        Assert.Contains("\"field\": \"to\"", body, StringComparison.Ordinal);
        Assert.Contains("to must not be before from", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_csv_has_one_table_per_section_with_the_documented_columns()
    {
        using var app = await NewAppAsync(minCellSize: 1);
        At(app, December.AddHours(1));
        await RecordManyAsync(app, "spam", Severity.High, 2);
        using var http = app.CreateClient();

        var csv = await http.GetStringAsync("/v1/reports/transparency.csv?from=2026-12-01&to=2026-12-02&group_by=month", Token);
        var tables = csv.Split("\r\n\r\n", StringSplitOptions.RemoveEmptyEntries).Select(t => t.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)).ToArray();

        Assert.Equal(
            [
                "table,period_start,period_end,measure,count",
                "table,period_start,period_end,category,severity,count",
                "table,period_start,period_end,source,count",
                "table,period_start,period_end,standing,users",
                "table,period_start,period_end,measure,value",
                "table,period_start,period_end,origin,decided,reversed,rate",
                "table,period_start,period_end,measure,count",
            ],
            tables.Select(t => t[0]));
        Assert.Equal(
            ["violations", "violations_by_category_severity", "violations_by_source", "restrictions", "appeals", "appeal_reversals", "retention"],
            tables.Select(t => t[1].Split(',')[0]));
        Assert.All(tables, t => Assert.All(t.Skip(1), row => Assert.Equal(t[0].Split(',').Length, row.Split(',').Length)));
        Assert.Contains("violations,2026-12-01,2026-12-03,total,2", csv, StringComparison.Ordinal);
        Assert.Contains("violations_by_source,2026-12-01,2026-12-03,mod.queue,2", csv, StringComparison.Ordinal);
    }

    /// <summary>What the DSA database calls the account's fate for a score: suspended, terminated, or nothing below SUSPENDED.</summary>
    private static string AccountOf(UserScore score) => score switch
    {
        { Standing: Standing.Banned, Permanent: true } => "DECISION_ACCOUNT_TERMINATED",
        { Standing: >= Standing.Suspended } => "DECISION_ACCOUNT_SUSPENDED",
        _ => "",
    };

    private static async Task<RecordViolationResponse> RecordAsync(ScoringApp app, RecordViolationRequest request) =>
        await app.Scoring.RecordViolationAsync(request, cancellationToken: Token);

    private static async Task RecordManyAsync(ScoringApp app, string category, Severity severity, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await RecordAsync(app, Violation(NewUserId(), category, severity));
        }
    }

    private static async Task<Appeal> SubmitAsync(ScoringApp app, RecordViolationResponse recorded) =>
        await app.Appeals.SubmitAppealAsync(new SubmitAppealRequest
        {
            ViolationId = recorded.Violation.ViolationId,
            UserId = recorded.Violation.UserId,
            Statement = "It was not me",
        }, cancellationToken: Token);

    private static async Task DecideAsync(ScoringApp app, Appeal appeal, AppealDecision decision) =>
        await app.Appeals.DecideAppealAsync(new DecideAppealRequest
        {
            AppealId = appeal.AppealId,
            ReviewerId = "rev-1",
            Decision = decision,
            NewSeverity = decision == AppealDecision.Reduce ? Severity.Low : Severity.Unspecified,
            Rationale = "Reviewed",
        }, cancellationToken: Token);

    private static void At(ScoringApp app, DateTimeOffset at) => app.Time.SetUtcNow(at);

    private static GetTransparencyReportRequest Period(DateTimeOffset start, DateTimeOffset end, ReportGrouping groupBy = ReportGrouping.Period) => new()
    {
        PeriodStart = Timestamp.FromDateTimeOffset(start),
        PeriodEnd = Timestamp.FromDateTimeOffset(end),
        GroupBy = groupBy,
    };

    private static long Value(ReportedCount count)
    {
        Assert.False(count.Suppressed, "the count is suppressed");
        return count.Value;
    }

    private static TimeSpan NearestRank(TimeSpan[] sorted, double p) => sorted[(int)Math.Ceiling(p * sorted.Length) - 1];

    private static void AssertReversal(IEnumerable<AppealRow> decided, Reversal reversal)
    {
        var rows = decided.ToArray();
        var reversedCount = rows.Count(a => a.State is DomainAppealState.Overturned or DomainAppealState.Reduced);
        Assert.Equal(rows.Length, Value(reversal.Decided));
        Assert.Equal(reversedCount, Value(reversal.Reversed));
        Assert.Equal(Math.Round((double)reversedCount / rows.Length, 4), reversal.Rate);
    }

    private static IEnumerable<ReportedCount> AllCounts(IMessage message) =>
        message.Descriptor.Fields.InDeclarationOrder().SelectMany(field => field.Accessor.GetValue(message) switch
        {
            ReportedCount count => [count],
            IMessage inner => AllCounts(inner),
            System.Collections.IEnumerable list and not string => list.OfType<IMessage>().SelectMany(AllCounts),
            _ => [],
        });

    private sealed record AppealRow(string ViolationId, DomainAppealState State, DateTimeOffset SubmittedAt, DateTimeOffset DueAt, DateTimeOffset? DecidedAt);

    private sealed record DirectCounts(
        Domain.Violations.Violation[] Violations, AppealRow[] Appeals, StandingChangeEntry[] Changes,
        Dictionary<string, bool> Automated, Dictionary<string, string> Categories);

    /// <summary>The figures' sources, read straight from the service's tables (nothing was deleted in the test that uses it).</summary>
    private static async Task<DirectCounts> DirectCountsAsync(ScoringApp app, DateTimeOffset start, DateTimeOffset end)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
        var all = await db.Violations.AsNoTracking().ToListAsync(Token);
        var appeals = await db.Appeals.AsNoTracking().ToListAsync(Token);
        var changes = await db.StandingChanges.AsNoTracking().ToListAsync(Token);
        return new DirectCounts(
            [.. all.Where(v => v.RecordedAt >= start && v.RecordedAt < end)],
            [.. appeals.Select(a => new AppealRow(a.ViolationId, a.State, a.SubmittedAt, a.DueAt, a.DecidedAt))],
            [.. changes.Where(c => c.RecordedAt >= start && c.RecordedAt < end)],
            all.ToDictionary(v => v.Id, v => v.Automated),
            all.ToDictionary(v => v.Id, v => v.Category));
    }
}

public sealed class PostgresRedisTransparencyReportTests(TestServers servers) : TransparencyReportTests, IDisposable
{
    private readonly List<string> _stores = [];

    protected override async Task<string> NewStoreAsync()
    {
        var store = await servers.Postgres.CreateDatabaseAsync();
        _stores.Add(store);
        return store;
    }

    public void Dispose() => _stores.ForEach(store => Npgsql.NpgsqlConnection.ClearPool(new Npgsql.NpgsqlConnection(store)));

    protected override ScoringApp NewApp(string store, Dictionary<string, string?> settings)
    {
        settings["Database:Provider"] = "Postgres";
        settings["ConnectionStrings:Scoring"] = store;
        settings["ConnectionStrings:Redis"] = servers.Redis.ConnectionString;
        settings["Cache:WriteTimeout"] = "00:00:10";
        return new ScoringApp(settings, new FakeTimeProvider(ScoringApp.Start));
    }
}

public sealed class SqliteTransparencyReportTests : TransparencyReportTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("scoring-reports-").FullName;

    protected override Task<string> NewStoreAsync() => Task.FromResult(Path.Combine(_directory, $"{Guid.NewGuid():N}.db"));

    protected override ScoringApp NewApp(string store, Dictionary<string, string?> settings)
    {
        settings["Database:Provider"] = "Sqlite";
        settings["ConnectionStrings:Scoring"] = $"Data Source={store}";
        return new ScoringApp(settings, new FakeTimeProvider(ScoringApp.Start));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
