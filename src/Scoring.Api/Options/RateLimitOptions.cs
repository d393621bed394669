using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Scoring.Api.Options;

/// <summary>Per-caller call rates by role (token buckets): a caller gets the most generous of its roles.</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimit";

    [ValidateObjectMembers]
    public RateLimitRule Reader { get; set; } = new() { PermitsPerSecond = 2000, Burst = 4000 };

    [ValidateObjectMembers]
    public RateLimitRule Writer { get; set; } = new() { PermitsPerSecond = 500, Burst = 1000 };

    [ValidateObjectMembers]
    public RateLimitRule Reviewer { get; set; } = new() { PermitsPerSecond = 50, Burst = 100 };

    [ValidateObjectMembers]
    public RateLimitRule Admin { get; set; } = new() { PermitsPerSecond = 50, Burst = 100 };

    /// <summary>Auditors run reports, each a heavier read than a score: a few a second is plenty.</summary>
    [ValidateObjectMembers]
    public RateLimitRule Auditor { get; set; } = new() { PermitsPerSecond = 5, Burst = 20 };

    /// <summary>Callers without a token (Auth:Mode None), partitioned by remote address.</summary>
    [ValidateObjectMembers]
    public RateLimitRule Anonymous { get; set; } = new() { PermitsPerSecond = 2000, Burst = 4000 };
}

/// <summary>
/// Checks each rule's ranges at start: data-annotation validation alone stops at the top level, so a
/// nested <c>RateLimit:Writer:Burst=0</c> would otherwise pass.
/// </summary>
[OptionsValidator]
public sealed partial class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>;

public sealed class RateLimitRule
{
    /// <summary>Sustained calls per second.</summary>
    [Range(0, int.MaxValue)]
    public int PermitsPerSecond { get; set; }

    /// <summary>Calls allowed at once before the rate applies.</summary>
    [Range(1, int.MaxValue)]
    public int Burst { get; set; }
}
