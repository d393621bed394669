using Scoring.Domain.Appeals;

namespace Scoring.Domain.Reports;

/// <summary>Violations recorded on one day with one set of attributes (the rollup a report sums).</summary>
public sealed record ViolationTally(string Category, Severity Severity, bool Automated, string Source, long Count);

/// <summary>
/// What a report over one period is computed from, before suppression: the day rollups summed over the
/// period, the distinct users who entered each standing, and the appeal facts alive during the period.
/// </summary>
/// <param name="Categories">Every category to show a cell for (the policy's and any recorded), so a missing row never says "zero".</param>
/// <param name="Sources">Every source to show a cell for.</param>
public sealed record TransparencyFacts(
    ReportPeriod Period,
    IReadOnlyList<string> Categories,
    IReadOnlyList<string> Sources,
    IReadOnlyList<ViolationTally> Violations,
    IReadOnlyDictionary<Standing, long> UsersEntered,
    long UsersPermanentlyBanned,
    IReadOnlyList<AppealFact> Appeals,
    long ViolationsPurged,
    long UsersErased);

public sealed record CategorySeverityCount(string Category, Severity Severity, ReportedCount Count);

public sealed record SourceCount(string Source, ReportedCount Count);

public sealed record StandingCount(Standing Standing, ReportedCount Users);

/// <summary>Decided appeals and how many of them reversed the decision; the rate only when both counts are published.</summary>
public sealed record Reversal(ReportedCount Decided, ReportedCount Reversed, double? Rate);

public sealed record CategoryReversal(string Category, Reversal Reversal);

/// <summary>Art. 15(1)(a)-(c): measures by type, basis and means.</summary>
public sealed record ViolationFigures(
    ReportedCount Total,
    IReadOnlyList<CategorySeverityCount> ByCategorySeverity,
    ReportedCount Automated,
    ReportedCount Human,
    IReadOnlyList<SourceCount> BySource);

/// <summary>Art. 15(1)(c) and 24(1)(b): restrictions applied, suspensions and terminations.</summary>
public sealed record RestrictionFigures(IReadOnlyList<StandingCount> UsersEntered, ReportedCount UsersPermanentlyBanned);

/// <summary>Art. 15(1)(d), 20 and 24(1)(a): the internal complaint-handling system, and the error indicator of automated means (15(1)(e)).</summary>
public sealed record AppealFigures(
    ReportedCount Submitted,
    ReportedCount Withdrawn,
    ReportedCount Decided,
    ReportedCount Upheld,
    ReportedCount Overturned,
    ReportedCount Reduced,
    ReportedCount OpenAtEnd,
    ReportedCount DecidedWithinSla,
    ReportedCount DecidedPastSla,
    TimeSpan? MedianTimeToDecision,
    TimeSpan? P90TimeToDecision,
    Reversal Reversal,
    IReadOnlyList<CategoryReversal> ReversalByCategory,
    Reversal ReversalAutomated,
    Reversal ReversalHuman);

public sealed record RetentionFigures(ReportedCount ViolationsPurged, ReportedCount UsersErased);

/// <summary>
/// The figures of one period as published: every count at or above the minimum cell size, the rest
/// suppressed (<see cref="SmallCells"/>), so that none can be recovered by subtraction from another count
/// of the same table; rates and times only where the counts beneath them are published.
/// </summary>
public sealed record TransparencyFigures(
    ReportPeriod Period, ViolationFigures Violations, RestrictionFigures Restrictions, AppealFigures Appeals, RetentionFigures Retention)
{
    /// <summary>The standings whose entries count as restrictions: from WARNED up.</summary>
    public static readonly IReadOnlyList<Standing> RestrictiveStandings = [Standing.Warned, Standing.Restricted, Standing.Suspended, Standing.Banned];

    public static TransparencyFigures Publish(TransparencyFacts facts, long minimum) => new(
        facts.Period,
        PublishViolations(facts, minimum),
        new RestrictionFigures(
            [.. RestrictiveStandings.Select(s => new StandingCount(s, Primary(facts.UsersEntered.GetValueOrDefault(s), minimum)))],
            Primary(facts.UsersPermanentlyBanned, minimum)),
        PublishAppeals(facts, minimum),
        new RetentionFigures(Primary(facts.ViolationsPurged, minimum), Primary(facts.UsersErased, minimum)));

    /// <summary>
    /// The figures of consecutive parts of one report (its months). Each month's appeals balance: open at its
    /// end = open at the month before's end + submitted − decided − withdrawn. With one of those counts
    /// suppressed anywhere, the others would give it back, so then no month shows how many were open at its
    /// end (the chain then has no known link, and every flow stays as published or suppressed on its own).
    /// </summary>
    public static IReadOnlyList<TransparencyFigures> PublishAll(IReadOnlyList<TransparencyFacts> parts, long minimum)
    {
        var figures = parts.Select(part => Publish(part, minimum)).ToArray();
        var balanceLeaks = figures.Length > 1 && figures.Any(f =>
            f.Appeals.Submitted.Suppressed || f.Appeals.Decided.Suppressed || f.Appeals.Withdrawn.Suppressed || f.Appeals.OpenAtEnd.Suppressed);
        return balanceLeaks
            ? [.. figures.Select(f => f with { Appeals = f.Appeals with { OpenAtEnd = new ReportedCount(null) } })]
            : figures;
    }

    /// <summary>
    /// Whether a standing change is an entry a report counts: a move up into a restrictive standing, or into
    /// a permanent ban. A drop (decay, an overturned appeal) lands in a standing without restricting anyone.
    /// </summary>
    public static bool IsRestriction(Standing previous, Standing standing, bool permanent) =>
        standing >= Standing.Warned && (standing > previous || (permanent && standing == Standing.Banned));

    /// <summary>The nearest-rank percentile (0 &lt; p ≤ 1) of sorted values: a value that occurred, never an interpolation.</summary>
    public static TimeSpan Percentile(IReadOnlyList<TimeSpan> sorted, double p)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sorted.Count);
        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }

    private static ViolationFigures PublishViolations(TransparencyFacts facts, long minimum)
    {
        var tallies = facts.Violations;
        var total = tallies.Sum(t => t.Count);
        var cells = facts.Categories
            .SelectMany(c => Severities.Select(s => (Category: c, Severity: s)))
            .Select(k => (k.Category, k.Severity, Count: tallies.Where(t => t.Category == k.Category && t.Severity == k.Severity).Sum(t => t.Count)))
            .ToArray();
        var (reportedTotal, cellCounts) = SmallCells.Suppress(total, [.. cells.Select(c => c.Count)], minimum);

        var automated = tallies.Where(t => t.Automated).Sum(t => t.Count);
        var (_, means) = SmallCells.Suppress(total, [automated, total - automated], minimum);

        var sources = facts.Sources.Select(s => (Source: s, Count: tallies.Where(t => t.Source == s).Sum(t => t.Count))).ToArray();
        var (_, sourceCounts) = SmallCells.Suppress(total, [.. sources.Select(s => s.Count)], minimum);

        return new ViolationFigures(
            reportedTotal,
            [.. cells.Select((c, i) => new CategorySeverityCount(c.Category, c.Severity, cellCounts[i]))],
            means[0],
            means[1],
            [.. sources.Select((s, i) => new SourceCount(s.Source, sourceCounts[i]))]);
    }

    private static AppealFigures PublishAppeals(TransparencyFacts facts, long minimum)
    {
        var period = facts.Period;
        var decided = facts.Appeals.Where(a => a.DecidedIn(period)).ToArray();
        var byOutcome = new[] { AppealState.Upheld, AppealState.Overturned, AppealState.Reduced }
            .Select(state => (long)decided.Count(a => a.State == state)).ToArray();
        var (reportedDecided, outcomes) = SmallCells.Suppress(decided.Length, byOutcome, minimum);
        long pastSla = decided.Count(a => a.WasPastSla);
        var (_, sla) = SmallCells.Suppress(decided.Length, [decided.Length - pastSla, pastSla], minimum);

        // Times only over a published count, so no single decision's time can be read off.
        var times = decided.Select(a => a.TimeToDecision!.Value).Order().ToArray();
        var timed = !reportedDecided.Suppressed && times.Length > 0;

        // Overall: reversed = overturned + reduced, published only with both (so upheld is too).
        var reversed = decided.Count(a => a.IsReversed);
        var overall = new Reversal(
            reportedDecided,
            outcomes[1].Suppressed || outcomes[2].Suppressed ? new ReportedCount(null) : new ReportedCount(reversed),
            !reportedDecided.Suppressed && !outcomes[1].Suppressed && !outcomes[2].Suppressed ? Rate(reversed, decided.Length) : null);

        // The rows' columns add up to reversed (overturned + reduced) and upheld: published rows alone could give
        // a hidden outcome away (reversed − a published reduced = a hidden overturned), so rows show only while
        // every outcome does.
        var outcomesPublished = !reportedDecided.Suppressed && outcomes.All(o => !o.Suppressed);
        var categories = facts.Categories.Union(decided.Select(a => a.Category)).ToArray();
        var byCategory = Reversals(categories.Select(c => decided.Where(a => a.Category == c)).ToArray(), minimum, outcomesPublished);
        var byOrigin = Reversals([decided.Where(a => a.Automated), decided.Where(a => !a.Automated)], minimum, outcomesPublished);

        return new AppealFigures(
            Primary(facts.Appeals.Count(a => a.SubmittedIn(period)), minimum),
            Primary(facts.Appeals.Count(a => a.WithdrawnIn(period)), minimum),
            reportedDecided,
            outcomes[0],
            outcomes[1],
            outcomes[2],
            Primary(facts.Appeals.Count(a => a.IsOpenAt(period.End)), minimum),
            sla[0],
            sla[1],
            timed ? Percentile(times, 0.5) : null,
            timed ? Percentile(times, 0.9) : null,
            overall,
            [.. categories.Select((c, i) => new CategoryReversal(c, byCategory[i]))],
            byOrigin[0],
            byOrigin[1]);
    }

    /// <summary>
    /// Reversal per group (category, origin): each group splits its decided appeals into reversed and upheld,
    /// whose column totals the outcome table publishes; a group shows all or nothing (<see cref="SmallCells.SuppressRows"/>).
    /// </summary>
    private static Reversal[] Reversals(IEnumerable<AppealFact>[] groups, long minimum, bool outcomesPublished)
    {
        var rows = groups.Select(g => g.ToArray()).Select(g => new[] { (long)g.Count(a => a.IsReversed), (long)g.Count(a => !a.IsReversed) }).ToArray();
        var hidden = outcomesPublished ? SmallCells.SuppressRows(rows, minimum) : [.. rows.Select(_ => true)];
        return [.. rows.Select((row, i) => hidden[i]
            ? new Reversal(new ReportedCount(null), new ReportedCount(null), null)
            : new Reversal(new ReportedCount(row[0] + row[1]), new ReportedCount(row[0]), Rate(row[0], row[0] + row[1])))];
    }

    private static double? Rate(long part, long whole) => whole == 0 ? null : Math.Round((double)part / whole, 4);

    private static ReportedCount Primary(long count, long minimum) => new(count < minimum ? null : count);

    private static readonly Severity[] Severities = [Severity.Low, Severity.Medium, Severity.High, Severity.Critical];
}
