using System.ComponentModel.DataAnnotations;

namespace Scoring.Api.Options;

/// <summary>Score cache tuning. Redis itself is configured by ConnectionStrings:Redis.</summary>
public sealed class CacheOptions
{
    public const string SectionName = "Cache";

    /// <summary>How long an entry lives without being rewritten; bounds staleness if Redis ever loses a write.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan EntryTtl { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How long a Redis read may take before the service answers from the database instead.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30")]
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long a Redis write may take. Longer than reads: a failed write leaves an entry to repair,
    /// while a slow one only delays a reply.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long reads leave Redis alone after repeated failures; also how often each replica looks for entries to repair.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// With Redis: how long this process may answer from its own near copy of an entry, saving the Redis
    /// round trip on hot reads (more than twice the cached GetScore rate, tests/perf/PERFORMANCE.md). Writes
    /// anywhere drop copies within the pub/sub delay; a copy is used at most this long after the read or
    /// write that made it began, whatever becomes of the change notice. One second by default; zero keeps no
    /// copies, so that a read on any replica sees every acknowledged write at once (README, "How it keeps
    /// its promises").
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan LocalTtl { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Redis replicas that must hold a cache write before it counts as done (Redis's WAIT, on the key's
    /// own node), so a failover that promotes a replica cannot lose an entry whose repair mark was
    /// already cleared. Zero (the default) for a Redis without replicas; one for a Redis Cluster with a
    /// replica per master. A write the replicas do not confirm within half of <see cref="WriteTimeout"/>
    /// keeps its mark, and a sweep writes it again.
    /// </summary>
    [Range(0, 16)]
    public int WriteReplicas { get; set; }

    /// <summary>
    /// Database reads for cache misses that may run at once in this process. A miss costs far more than a
    /// hit: when Redis is slow or cold, this keeps the fallback from taking the database down with it.
    /// </summary>
    [Range(1, 10_000)]
    public int FallbackReads { get; set; } = 16;

    /// <summary>
    /// Cache-miss reads that may wait for one of the <see cref="FallbackReads"/>; a read beyond them is
    /// answered UNAVAILABLE at once (the caller retries), never queued without bound.
    /// </summary>
    [Range(0, 100_000)]
    public int FallbackQueue { get; set; } = 256;

    /// <summary>
    /// Entries the in-process cache keeps: one per user on the embedded default without Redis; with Redis,
    /// a near copy and its change-notice entry, two per user held.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int InProcessCapacity { get; set; } = 100_000;
}
