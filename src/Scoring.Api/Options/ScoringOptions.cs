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

    /// <summary>How often the retention purge runs (a timer waits at most about 49 days: hence the bound).</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Violations purged per batch, so one run never holds long transactions.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10000)]
    public int RetentionBatchSize { get; set; } = 500;

    /// <summary>How long the feed of standing changes keeps an entry; a watch from an older revision is OUT_OF_RANGE.</summary>
    public TimeSpan StandingChangeRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How often each replica looks for standings that dropped by themselves (decay, expiry) and records
    /// them; such a change reaches the feed within this interval (plus the time to record it).
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan StandingScanInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often each replica's feed reader looks for changes written by other replicas.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan StandingFeedPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Changes one watcher may have waiting to be sent; a watcher further behind is ended with RESOURCE_EXHAUSTED.</summary>
    [System.ComponentModel.DataAnnotations.Range(10, 1_000_000)]
    public int StandingWatchBuffer { get; set; } = 1000;
}
