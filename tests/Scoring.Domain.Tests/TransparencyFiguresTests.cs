using CsCheck;
using Scoring.Domain.Appeals;
using Scoring.Domain.Policies;
using Scoring.Domain.Reports;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;

namespace Scoring.Domain.Tests;

public class TransparencyFiguresTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ReportPeriod December = new(Start, Start.AddMonths(1));
    private static readonly ScoringPolicy Policy = ScoringPolicy.Default;

    private static int _ids;

    private static (Appeal Appeal, Violation Violation) Appealed(string category, bool automated, DateTimeOffset at)
    {
        var id = Interlocked.Increment(ref _ids);
        var violation = Violation.Record(
            new ViolationReport("mod.queue", $"e-{id}", $"u-{id}", category, Severity.High, at, null, null, "mod-7", automated), Policy, $"v-{id}", at);
        return (Appeal.Submit(violation, "not me", null, $"a-{id}", Policy, at), violation);
    }

    /// <summary>An appeal's fact, decided (or not, with null) <paramref name="after"/> its submission.</summary>
    private static AppealFact Fact(string category, bool automated, AppealDecision? decision, TimeSpan after, DateTimeOffset? submitted = null)
    {
        var at = submitted ?? Start.AddDays(1);
        var (appeal, violation) = Appealed(category, automated, at);
        var fact = AppealFact.Of(appeal, violation);
        if (decision is { } made)
        {
            appeal.Decide("rev-1", made, made == AppealDecision.Reduce ? Severity.Low : Severity.Unspecified, "reviewed", violation, Policy, at + after);
            fact.Follow(appeal);
        }

        return fact;
    }

    private static AppealFact Withdrawn(DateTimeOffset submitted, TimeSpan after)
    {
        var (appeal, violation) = Appealed("fraud", true, submitted);
        appeal.Withdraw(violation, submitted + after);
        var fact = AppealFact.Of(appeal, violation);
        fact.Follow(appeal);
        return fact;
    }

    private static TransparencyFacts Facts(IReadOnlyList<AppealFact> appeals, params ViolationTally[] tallies) => new(
        December, ["fraud", "spam"], ["mod.queue"], tallies, new Dictionary<Standing, long>(), 0, appeals, 0, 0);

    [Fact]
    public void Reversal_rates_and_times_are_published_only_over_counts_that_are_themselves_published()
    {
        // fraud: 6 reversed, 6 upheld; spam: 1 reversed, 5 upheld (a cell below 3 hides the whole row, and a
        // single hidden row next to published column totals would be the totals minus fraud, so no row shows).
        var appeals = new List<AppealFact>();
        appeals.AddRange(Enumerable.Range(0, 6).Select(i => Fact("fraud", i % 2 == 0, AppealDecision.Overturn, TimeSpan.FromHours(10 + i))));
        appeals.AddRange(Enumerable.Range(0, 6).Select(i => Fact("fraud", i % 2 == 1, AppealDecision.Uphold, TimeSpan.FromHours(20 + i))));
        appeals.Add(Fact("spam", true, AppealDecision.Reduce, TimeSpan.FromHours(100)));
        appeals.AddRange(Enumerable.Range(0, 5).Select(_ => Fact("spam", false, AppealDecision.Uphold, TimeSpan.FromHours(1))));

        var figures = TransparencyFigures.Publish(Facts(appeals), minimum: 3).Appeals;

        // Reduced (1) is hidden, and with it the next smallest outcome (6 overturned), so the overall rate is not published.
        Assert.Equal((18L, 11L, (long?)null, (long?)null), (figures.Decided.Value, figures.Upheld.Value, figures.Overturned.Value, figures.Reduced.Value));
        Assert.Null(figures.Reversal.Rate);
        Assert.All(figures.ReversalByCategory, c => Assert.Null(c.Reversal.Rate));
        // By origin (automated 3 + 1 reversed, 3 upheld; human 3 reversed, 3 + 5 upheld) every cell could show,
        // but not while an outcome is hidden: the rows' reversed would add up to overturned + reduced.
        Assert.True(figures.ReversalAutomated.Decided.Suppressed && figures.ReversalHuman.Reversed.Suppressed);

        // Two more reductions: every outcome shows, and so do both origin rows and their rates.
        var more = TransparencyFigures.Publish(Facts([.. appeals, Fact("spam", false, AppealDecision.Reduce, TimeSpan.FromHours(2)), Fact("spam", false, AppealDecision.Reduce, TimeSpan.FromHours(2))]), minimum: 3).Appeals;
        Assert.Equal((7L, 4L, 0.5714), (more.ReversalAutomated.Decided.Value!.Value, more.ReversalAutomated.Reversed.Value!.Value, more.ReversalAutomated.Rate!.Value));
        Assert.Equal((13L, 5L, 0.3846), (more.ReversalHuman.Decided.Value!.Value, more.ReversalHuman.Reversed.Value!.Value, more.ReversalHuman.Rate!.Value));
        // 18 decisions (five of 1 h, then 10-15 h, 20-25 h, 100 h), nearest rank: the 9th and the 17th shortest.
        Assert.Equal((TimeSpan.FromHours(13), TimeSpan.FromHours(25)), (figures.MedianTimeToDecision, figures.P90TimeToDecision));
        // One decision past the 72 h SLA: hidden, and the 17 within it too (they would be 18 minus the other).
        Assert.True(figures.DecidedWithinSla.Suppressed && figures.DecidedPastSla.Suppressed);

        var few = TransparencyFigures.Publish(Facts([.. appeals.Take(2)]), minimum: 3).Appeals;
        Assert.True(few.Decided.Suppressed);
        Assert.Null(few.MedianTimeToDecision);
        Assert.Null(few.P90TimeToDecision);
    }

    [Fact]
    public void Reversal_rows_are_not_published_while_an_outcome_is_suppressed_as_they_would_give_it_back()
    {
        // Upheld 20, overturned 5, reduced 25: overturned is hidden, and upheld with it. Each origin row has
        // 15 reversed and 10 upheld, every cell publishable on its own, but 15 + 15 − 25 would be the 5.
        var appeals = new List<AppealFact>();
        for (var origin = 0; origin < 2; origin++)
        {
            var automated = origin == 0;
            appeals.AddRange(Enumerable.Range(0, 10).Select(_ => Fact("fraud", automated, AppealDecision.Uphold, TimeSpan.FromHours(1))));
            appeals.AddRange(Enumerable.Range(0, automated ? 5 : 0).Select(_ => Fact("fraud", automated, AppealDecision.Overturn, TimeSpan.FromHours(1))));
            appeals.AddRange(Enumerable.Range(0, automated ? 10 : 15).Select(_ => Fact("spam", automated, AppealDecision.Reduce, TimeSpan.FromHours(1))));
        }

        var figures = TransparencyFigures.Publish(Facts(appeals), minimum: 10).Appeals;

        Assert.Equal((50L, (long?)null, (long?)null, 25L), (figures.Decided.Value!.Value, figures.Upheld.Value, figures.Overturned.Value, figures.Reduced.Value!.Value));
        Assert.All(new[] { figures.ReversalAutomated, figures.ReversalHuman }.Concat(figures.ReversalByCategory.Select(c => c.Reversal)), r =>
            Assert.True(r.Decided.Suppressed && r.Reversed.Suppressed && r.Rate is null));

        // With every outcome published, the same rows are.
        appeals.AddRange(Enumerable.Range(0, 5).Select(_ => Fact("fraud", false, AppealDecision.Overturn, TimeSpan.FromHours(1))));
        var published = TransparencyFigures.Publish(Facts(appeals), minimum: 10).Appeals;
        Assert.Equal((15L, 30L), (published.ReversalAutomated.Reversed.Value!.Value, published.ReversalHuman.Decided.Value!.Value));
    }

    [Fact]
    public void Per_month_no_one_is_shown_open_at_a_months_end_when_the_balance_would_give_a_suppressed_count_back()
    {
        var months = new ReportPeriod(Start, Start.AddMonths(2)).Split(ReportGrouping.Month);
        var january = Start.AddMonths(1);
        var open = Enumerable.Range(0, 30).Select(_ => Fact("fraud", true, null, TimeSpan.Zero, Start.AddDays(2))).ToArray();
        var december = Enumerable.Range(0, 12).Select(_ => Fact("fraud", true, AppealDecision.Uphold, TimeSpan.FromDays(1), Start.AddDays(3)))
            .Concat(Enumerable.Range(0, 12).Select(_ => Withdrawn(Start.AddDays(3), TimeSpan.FromDays(1)))).ToArray();
        var januaryWithdrawn = Enumerable.Range(0, 12).Select(_ => Withdrawn(january.AddDays(3), TimeSpan.FromDays(1))).ToArray();
        IReadOnlyList<TransparencyFigures> Report(IEnumerable<AppealFact> januaryDecided) =>
            TransparencyFigures.PublishAll([.. months.Select(m => Facts([.. open, .. december, .. januaryWithdrawn, .. januaryDecided]) with { Period = m })], minimum: 10);

        // Every flow of both months published: open at each end is too.
        var plain = Report(Enumerable.Range(0, 12).Select(_ => Fact("fraud", true, AppealDecision.Uphold, TimeSpan.FromDays(1), january.AddDays(3))));
        Assert.Equal([30L, 30L], plain.Select(f => f.Appeals.OpenAtEnd.Value!.Value));

        // One decision in January: 1 is suppressed, and 30 + 13 − 12 − 30 (January's balance) would give it
        // back, so no month shows its open count.
        var hidden = Report([Fact("fraud", true, AppealDecision.Uphold, TimeSpan.FromDays(1), january.AddDays(3))]);
        Assert.True(hidden[1].Appeals.Decided.Suppressed);
        Assert.All(hidden, f => Assert.True(f.Appeals.OpenAtEnd.Suppressed));
        Assert.Equal((13L, 12L), (hidden[1].Appeals.Submitted.Value!.Value, hidden[1].Appeals.Withdrawn.Value!.Value));
    }

    [Fact]
    public void Appeals_count_in_the_period_they_were_submitted_decided_or_left_open_in()
    {
        var before = Start.AddDays(-3);
        AppealFact[] appeals =
        [
            Fact("fraud", true, AppealDecision.Uphold, TimeSpan.FromDays(4), before),   // decided in December
            Fact("fraud", true, null, TimeSpan.Zero, before),                             // open at the end
            Fact("fraud", true, AppealDecision.Uphold, TimeSpan.FromDays(1), before),     // decided in November
            Fact("fraud", true, AppealDecision.Uphold, TimeSpan.FromDays(40)),            // submitted in December, decided in January
        ];

        var figures = TransparencyFigures.Publish(Facts(appeals), minimum: 1).Appeals;

        Assert.Equal((1L, 1L, 2L), (figures.Submitted.Value, figures.Decided.Value, figures.OpenAtEnd.Value));
        Assert.True(figures.DecidedPastSla.Suppressed);
        Assert.Equal(TimeSpan.FromDays(4), figures.MedianTimeToDecision);
    }

    [Fact]
    public void Violation_cells_cover_every_category_and_severity_and_hide_what_is_small()
    {
        var facts = Facts(
            [],
            new ViolationTally("spam", Severity.High, true, "mod.queue", 30),
            new ViolationTally("fraud", Severity.Low, false, "mod.queue", 12),
            new ViolationTally("spam", Severity.Low, false, "mod.queue", 2));

        var figures = TransparencyFigures.Publish(facts, minimum: 10).Violations;

        Assert.Equal(8, figures.ByCategorySeverity.Count);
        Assert.Equal(44, figures.Total.Value);
        // The zeros and the 2 add up to 2: the 12 goes with them, and only the 30 shows.
        Assert.Equal(30, figures.ByCategorySeverity.Single(c => c.Category == "spam" && c.Severity == Severity.High).Count.Value);
        Assert.All(figures.ByCategorySeverity.Where(c => c.Category != "spam" || c.Severity != Severity.High), c => Assert.True(c.Count.Suppressed));
        Assert.Equal((30L, 14L), (figures.Automated.Value, figures.Human.Value));
        Assert.Equal(44, figures.BySource.Single().Count.Value);

        // With only two violations in all, everything is suppressed, the total first.
        var tiny = TransparencyFigures.Publish(Facts([], new ViolationTally("spam", Severity.High, true, "mod.queue", 2)), minimum: 10).Violations;
        Assert.True(tiny.Total.Suppressed && tiny.Automated.Suppressed && tiny.ByCategorySeverity.All(c => c.Count.Suppressed));
    }

    [Fact]
    public void Suppressed_reversal_rows_never_stand_alone_nor_add_up_to_a_small_count_in_any_column()
    {
        Gen.Long[0, 30].Array[2].Array[1, 6].Select(Gen.Long[1, 12], (rows, minimum) => (rows, minimum)).Sample(sample =>
        {
            var (rows, minimum) = sample;
            var hidden = SmallCells.SuppressRows(rows, minimum);

            var gone = rows.Where((_, i) => hidden[i]).ToArray();
            Assert.All(rows.Where((_, i) => !hidden[i]), row => Assert.All(row, cell => Assert.True(cell >= minimum)));
            var everyColumnSafe = gone.Length == 0 || (gone.Length > 1 && Enumerable.Range(0, 2).All(c => gone.Sum(r => r[c]) >= minimum));
            // When every row is hidden and a column is still small, that column's total is small too (and is itself suppressed where shown).
            Assert.True(everyColumnSafe || gone.Length == rows.Length, "a hidden row can be recovered from the column totals");
        });
    }

    [Fact]
    public void A_restriction_is_a_move_up_into_warned_or_worse_or_into_a_permanent_ban()
    {
        Assert.True(TransparencyFigures.IsRestriction(Standing.Good, Standing.Warned, false));
        Assert.True(TransparencyFigures.IsRestriction(Standing.Warned, Standing.Banned, false));
        Assert.True(TransparencyFigures.IsRestriction(Standing.Banned, Standing.Banned, true));
        Assert.False(TransparencyFigures.IsRestriction(Standing.Suspended, Standing.Restricted, false));
        Assert.False(TransparencyFigures.IsRestriction(Standing.Unspecified, Standing.Good, false));
        Assert.False(TransparencyFigures.IsRestriction(Standing.Banned, Standing.Banned, false));
    }

    [Fact]
    public void A_period_splits_into_calendar_months_cut_to_the_period()
    {
        var period = new ReportPeriod(new DateTimeOffset(2026, 1, 15, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 10, 0, 0, 0, TimeSpan.Zero));

        var months = period.Split(ReportGrouping.Month);

        Assert.Equal(["2026-01-15..2026-02-01", "2026-02-01..2026-03-01", "2026-03-01..2026-03-10"], months.Select(m => $"{m.Start:yyyy-MM-dd}..{m.End:yyyy-MM-dd}"));
        Assert.Equal([period], period.Split(ReportGrouping.Period));
    }

    [Fact]
    public void A_statement_of_reasons_maps_the_policy_and_the_account_and_holds_no_user_or_evidence()
    {
        var policy = Policy with
        {
            Categories = [.. Policy.Categories.Select(c => c.Name == "fraud" ? c with { DsaCategory = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD" } : c)],
            SourceTypes = new Dictionary<string, string> { ["notice.form"] = "SOURCE_ARTICLE_16" },
        };
        var violation = Violation.Record(
            new ViolationReport("notice.form", "e-9", "u-secret", "fraud", Severity.High, Start.AddDays(-2), "cid:secret", "Asked for payment elsewhere", "mod-7", false,
                DecisionGround.IllegalContent, "Consumer law s.5"),
            policy, "v-9", Start);
        var score = ScoreCalculator.Compute(policy, [violation.ToScored()], Start);

        var statement = StatementOfReasons.For(violation, policy);

        // Not yet told what its recording did to the account: no account decision.
        Assert.Equal(
            new StatementOfReasons("v-9", "DECISION_GROUND_ILLEGAL_CONTENT", "Consumer law s.5", null, "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", null,
                "Asked for payment elsewhere", "No", "AUTOMATED_DECISION_NOT_AUTOMATED", "2026-11-29", "2026-12-01", "SOURCE_ARTICLE_16"),
            statement);
        Assert.DoesNotContain("secret", statement.ToString(), StringComparison.Ordinal);
        Assert.Equal(
            [AccountDecision.None, AccountDecision.None, AccountDecision.Suspended, AccountDecision.Suspended, AccountDecision.Terminated],
            new[]
            {
                score with { Standing = Standing.Warned }, score with { Standing = Standing.Restricted }, score with { Standing = Standing.Suspended },
                score with { Standing = Standing.Banned, Permanent = false }, score with { Standing = Standing.Banned, Permanent = true },
            }.Select(AccountDecisions.Of));
        Assert.Equal(["DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED", null], new[] { AccountDecision.Suspended, AccountDecision.Terminated, AccountDecision.None }.Select(d => d.ToDsa()));
    }
}
