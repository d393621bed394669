using System.Globalization;
using System.Text;
using Scoring.V1;

namespace Scoring.Api.Http;

/// <summary>
/// The transparency report as CSV (RFC 4180): one table per section, each with its own header row and a
/// blank line after it, and a first column naming the table, so every row says what it is. A suppressed
/// count is the word <c>suppressed</c>. The column names are part of the contract (README, "Reports").
/// Compiled into the service and the CLI alike, over the proto types both generate.
/// </summary>
public static class TransparencyCsv
{
    public const string Suppressed = "suppressed";

    /// <summary>Each table's name and columns, in the order written.</summary>
    public static readonly IReadOnlyList<(string Table, string[] Columns)> Tables =
    [
        ("violations", ["table", "period_start", "period_end", "measure", "count"]),
        ("violations_by_category_severity", ["table", "period_start", "period_end", "category", "severity", "count"]),
        ("violations_by_source", ["table", "period_start", "period_end", "source", "count"]),
        ("restrictions", ["table", "period_start", "period_end", "standing", "users"]),
        ("appeals", ["table", "period_start", "period_end", "measure", "value"]),
        ("appeal_reversals", ["table", "period_start", "period_end", "origin", "decided", "reversed", "rate"]),
        ("retention", ["table", "period_start", "period_end", "measure", "count"]),
    ];

    public static string Write(TransparencyReport report)
    {
        var csv = new StringBuilder();
        foreach (var (table, columns) in Tables)
        {
            csv.Append(string.Join(',', columns)).Append("\r\n");
            foreach (var figures in report.Periods)
            {
                foreach (var row in Rows(table, figures))
                {
                    csv.Append(string.Join(',', new[] { table, Day(figures.PeriodStart), Day(figures.PeriodEnd) }.Concat(row).Select(Escape))).Append("\r\n");
                }
            }

            csv.Append("\r\n");
        }

        return csv.ToString();
    }

    private static IEnumerable<string[]> Rows(string table, TransparencyFigures f) => table switch
    {
        "violations" =>
        [
            ["total", Count(f.Violations.Total)],
            ["automated", Count(f.Violations.Automated)],
            ["human", Count(f.Violations.Human)],
        ],
        "violations_by_category_severity" => f.Violations.ByCategorySeverity.Select(c => new[] { c.Category, Name(c.Severity.ToString()), Count(c.Count) }),
        "violations_by_source" => f.Violations.BySource.Select(s => new[] { s.Source, Count(s.Count) }),
        "restrictions" => f.Restrictions.UsersEntered.Select(s => new[] { Name(s.Standing.ToString()), Count(s.Users) })
            .Append(["PERMANENTLY_BANNED", Count(f.Restrictions.UsersPermanentlyBanned)]),
        "appeals" =>
        [
            ["submitted", Count(f.Appeals.Submitted)],
            ["withdrawn", Count(f.Appeals.Withdrawn)],
            ["decided", Count(f.Appeals.Decided)],
            ["upheld", Count(f.Appeals.Upheld)],
            ["overturned", Count(f.Appeals.Overturned)],
            ["reduced", Count(f.Appeals.Reduced)],
            ["open_at_end", Count(f.Appeals.OpenAtEnd)],
            ["decided_within_sla", Count(f.Appeals.DecidedWithinSla)],
            ["decided_past_sla", Count(f.Appeals.DecidedPastSla)],
            ["median_time_to_decision_seconds", Seconds(f.Appeals.MedianTimeToDecision)],
            ["p90_time_to_decision_seconds", Seconds(f.Appeals.P90TimeToDecision)],
        ],
        "appeal_reversals" => new[] { ("all", f.Appeals.Reversal), ("automated", f.Appeals.ReversalAutomated), ("human", f.Appeals.ReversalHuman) }
            .Concat(f.Appeals.ReversalByCategory.Select(c => ("category:" + c.Category, c.Reversal)))
            .Select(r => new[] { r.Item1, Count(r.Item2.Decided), Count(r.Item2.Reversed), r.Item2.HasRate ? r.Item2.Rate.ToString("0.####", CultureInfo.InvariantCulture) : Suppressed }),
        "retention" =>
        [
            ["violations_purged", Count(f.Retention.ViolationsPurged)],
            ["users_erased", Count(f.Retention.UsersErased)],
        ],
        _ => [],
    };

    private static string Count(ReportedCount? count) =>
        count is { Suppressed: false, HasValue: true } ? count.Value.ToString(CultureInfo.InvariantCulture) : Suppressed;

    private static string Seconds(Google.Protobuf.WellKnownTypes.Duration? duration) =>
        duration is null ? Suppressed : ((long)duration.ToTimeSpan().TotalSeconds).ToString(CultureInfo.InvariantCulture);

    private static string Day(Google.Protobuf.WellKnownTypes.Timestamp? at) =>
        at is null ? "" : at.ToDateTimeOffset().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    // Enum names as the proto spells them without the prefix: SEVERITY_HIGH → HIGH, PERMANENTLY_BANNED stays.
    private static string Name(string csharpName) =>
        string.Concat(csharpName.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();

    private static string Escape(string value) =>
        value.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
