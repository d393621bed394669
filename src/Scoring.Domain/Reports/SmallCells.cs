namespace Scoring.Domain.Reports;

/// <summary>A count as a published report shows it: its value, or suppressed (null) because it is too small to publish.</summary>
public readonly record struct ReportedCount(long? Value)
{
    public bool Suppressed => Value is null;

    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "suppressed";
}

/// <summary>
/// Small-cell suppression for one table of a transparency report: parts that add up to a total. A count below
/// the minimum is never published (primary suppression). Nor may one be recovered by subtraction: while the
/// total is published and the suppressed parts are a single cell, or add up to less than the minimum, the
/// smallest published part is suppressed too (secondary suppression); with no published part left, the
/// total is. A reader then learns of the suppressed parts at most that together they reach the minimum.
/// </summary>
public static class SmallCells
{
    public static (ReportedCount Total, ReportedCount[] Parts) Suppress(long total, IReadOnlyList<long> parts, long minimum)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimum);
        if (parts.Sum() != total)
        {
            throw new ArgumentException($"the parts add up to {parts.Sum()}, not to the total {total}", nameof(parts));
        }

        var suppressed = parts.Select(count => count < minimum).ToArray();
        var totalSuppressed = total < minimum;
        while (!totalSuppressed && IsRecoverable(parts, suppressed, minimum))
        {
            var next = Enumerable.Range(0, parts.Count).Where(i => !suppressed[i]).OrderBy(i => parts[i]).ThenBy(i => i).FirstOrDefault(-1);
            if (next < 0)
            {
                totalSuppressed = true;
            }
            else
            {
                suppressed[next] = true;
            }
        }

        return (
            new ReportedCount(totalSuppressed ? null : total),
            [.. parts.Select((count, i) => new ReportedCount(suppressed[i] ? null : count))]);
    }

    /// <summary>
    /// Small-cell suppression for a table whose rows each split into the same columns, with every column's
    /// total published elsewhere (the reversal table: per category, reversed and upheld). A row goes whole
    /// when any of its cells is below the minimum; then, while the hidden rows are a single one, or their
    /// sum in some column stays below the minimum, the row with the smallest sum goes too. Returns which
    /// rows are hidden.
    /// </summary>
    public static bool[] SuppressRows(IReadOnlyList<long[]> rows, long minimum)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimum);
        var hidden = rows.Select(row => row.Any(cell => cell < minimum)).ToArray();
        while (IsRecoverable(rows, hidden, minimum))
        {
            var next = Enumerable.Range(0, rows.Count).Where(i => !hidden[i]).OrderBy(i => rows[i].Sum()).ThenBy(i => i).FirstOrDefault(-1);
            if (next < 0)
            {
                // Every row hidden and a column still small: that column's total is itself below the minimum.
                break;
            }

            hidden[next] = true;
        }

        return hidden;
    }

    private static bool IsRecoverable(IReadOnlyList<long[]> rows, bool[] hidden, long minimum)
    {
        var gone = Enumerable.Range(0, rows.Count).Where(i => hidden[i]).ToArray();
        if (gone.Length == 0)
        {
            return false;
        }

        var columns = rows[gone[0]].Length;
        return gone.Length == 1 || Enumerable.Range(0, columns).Any(c => gone.Sum(i => rows[i][c]) < minimum);
    }

    // With the total published, the suppressed parts add up to total minus the published ones: safe only when
    // they are none, or at least two that together reach the minimum.
    private static bool IsRecoverable(IReadOnlyList<long> parts, bool[] suppressed, long minimum)
    {
        var hidden = Enumerable.Range(0, parts.Count).Where(i => suppressed[i]).ToArray();
        return hidden.Length == 1 || (hidden.Length > 1 && hidden.Sum(i => parts[i]) < minimum);
    }
}
