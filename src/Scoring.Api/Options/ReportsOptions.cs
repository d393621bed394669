using System.ComponentModel.DataAnnotations;

namespace Scoring.Api.Options;

/// <summary>Transparency reports.</summary>
public sealed class ReportsOptions
{
    public const string SectionName = "Reports";

    /// <summary>
    /// The smallest count a report publishes (Reports__MinCellSize): any count below it shows as suppressed,
    /// and further counts are suppressed where subtraction would give it away.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MinCellSize { get; set; } = 10;

    /// <summary>How often past days' report tallies are merged into one row per set of attributes (each replica; safe together).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan CompactionInterval { get; set; } = TimeSpan.FromHours(1);
}
