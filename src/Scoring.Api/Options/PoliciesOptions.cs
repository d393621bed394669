using System.ComponentModel.DataAnnotations;

namespace Scoring.Api.Options;

/// <summary>The policy lifecycle: how fast replicas follow an activation, and how simulations and re-scoring passes run.</summary>
public sealed class PoliciesOptions
{
    public const string SectionName = "Policies";

    /// <summary>How often each replica checks which version is active: a new version scores everywhere within this interval of its activation.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:10")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often each replica looks for a simulation or re-scoring pass to run (one it was asked for starts at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan JobPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a replica holds a job without reporting progress before another takes it over (its process died).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan JobLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Users read per page by a simulation or a re-scoring pass; progress is saved after each page.</summary>
    [Range(1, 100_000)]
    public int JobPageSize { get; set; } = 2000;

    /// <summary>
    /// The share of its time a job may spend working: after a page that took t, it rests t × (1 − share) / share,
    /// so that live traffic keeps most of the machine (1 runs flat out). At 0.2 a simulation of 1 000 000 users
    /// took 72-87 s on a 2-core machine with reads beside it unslowed (tests/perf/PERFORMANCE.md).
    /// </summary>
    [Range(0.01, 1.0)]
    public double JobWorkShare { get; set; } = 0.2;

    /// <summary>A further fixed pause between two pages of a job; zero for none.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan JobPagePause { get; set; } = TimeSpan.Zero;
}
