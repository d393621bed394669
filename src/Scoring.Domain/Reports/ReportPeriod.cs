namespace Scoring.Domain.Reports;

/// <summary>How a report splits its period: one set of figures for the whole, or one per calendar month.</summary>
public enum ReportGrouping
{
    Unspecified = 0,
    Period = 1,
    Month = 2,
}

/// <summary>
/// A reporting period, [<see cref="Start"/>, <see cref="End"/>) in whole UTC days: the figures are kept per
/// day as writes happen, so a report never needs a finer boundary (and reads the day totals, not every row).
/// </summary>
public readonly record struct ReportPeriod(DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>The longest period one report covers: ten years, so a typo in a year cannot ask for millennia.</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromDays(3653);

    public static bool IsWholeDay(DateTimeOffset at) => at.UtcTicks % TimeSpan.TicksPerDay == 0;

    /// <summary>The UTC day an instant falls on, as its midnight: the key figures are kept under.</summary>
    public static DateTimeOffset DayOf(DateTimeOffset at) => new(at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerDay), TimeSpan.Zero);

    public bool Contains(DateTimeOffset at) => at >= Start && at < End;

    /// <summary>The period as the grouping asks: itself, or its calendar months (the first and last cut to the period).</summary>
    public IReadOnlyList<ReportPeriod> Split(ReportGrouping grouping)
    {
        if (grouping != ReportGrouping.Month)
        {
            return [this];
        }

        var parts = new List<ReportPeriod>();
        var start = Start.ToUniversalTime();
        while (start < End)
        {
            var nextMonth = new DateTimeOffset(start.Year, start.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
            var end = nextMonth < End ? nextMonth : End;
            parts.Add(new ReportPeriod(start, end));
            start = end;
        }

        return parts;
    }
}
