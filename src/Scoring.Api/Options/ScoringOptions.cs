namespace Scoring.Api.Options;

/// <summary>Scoring settings.</summary>
public sealed class ScoringOptions
{
    public const string SectionName = "Scoring";

    /// <summary>Optional path to a policy JSON file that replaces the default policy.</summary>
    public string? PolicyFile { get; set; }

    /// <summary>Violations (with their appeals) are purged this many days after occurred_at.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 36500)]
    public int RetentionDays { get; set; } = 730;

    /// <summary>
    /// Reports the write pipeline holds while they wait for a writer. When it is full, new reports are
    /// answered UNAVAILABLE at once (backpressure) instead of waiting without bound.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1_000_000)]
    public int WriteQueueCapacity { get; set; } = 10_000;

    /// <summary>How often the retention purge runs.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Violations purged per batch, so one run never holds long transactions.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10000)]
    public int RetentionBatchSize { get; set; } = 500;
}
