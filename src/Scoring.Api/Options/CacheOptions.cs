using System.ComponentModel.DataAnnotations;

namespace Scoring.Api.Options;

/// <summary>Score cache tuning. Redis itself is configured by ConnectionStrings:Redis.</summary>
public sealed class CacheOptions
{
    public const string SectionName = "Cache";

    /// <summary>How long an entry lives without being rewritten; bounds staleness if Redis ever loses a write.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan EntryTtl { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How long one Redis call may take before the service falls back to the database.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long to leave Redis alone after repeated failures before trying it again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Entries the in-process cache keeps (the embedded default, without Redis).</summary>
    [Range(1, int.MaxValue)]
    public int InProcessCapacity { get; set; } = 100_000;
}
