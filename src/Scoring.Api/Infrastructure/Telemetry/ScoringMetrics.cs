using System.Diagnostics.Metrics;
using Scoring.Domain.Standings;
using Scoring.Domain;
using Scoring.Domain.Appeals;
using Scoring.Domain.Violations;

namespace Scoring.Api.Infrastructure.Telemetry;

/// <summary>
/// The service's own instruments, on one meter named <see cref="MeterName"/>. Prometheus names follow from
/// the instrument names: dots become underscores, counters gain <c>_total</c> and a unit of <c>s</c> gains
/// <c>_seconds</c> (<c>scoring.appeal.decision</c> is <c>scoring_appeal_decision_seconds</c>).
/// </summary>
public sealed class ScoringMetrics
{
    public const string MeterName = "Scoring";

    /// <summary>Time to a decision, from a minute to the 30 days no review should take.</summary>
    private static readonly double[] DecisionBuckets =
    [
        60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 12 * 3600,
        86400, 2 * 86400, 3 * 86400, 5 * 86400, 7 * 86400, 14 * 86400, 30 * 86400,
    ];

    private readonly Counter<long> _cacheLookups;
    private readonly Counter<long> _cacheErrors;
    private readonly Counter<long> _cacheRepairs;
    private readonly Counter<long> _cacheNotices;
    private readonly Counter<long> _scoreReads;
    private readonly Counter<long> _standingChanges;
    private readonly Counter<long> _violationsRecorded;
    private readonly Counter<long> _appealsSubmitted;
    private readonly Counter<long> _appealsDecided;
    private readonly Histogram<double> _appealDecision;
    private readonly Meter _meter;

    // Replaced whole by each refresh, so a scrape never sees figures from two different reads.
    private volatile LiveFigures _live = LiveFigures.None;

    public ScoringMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _cacheLookups = meter.CreateCounter<long>("scoring.cache.lookups", "{lookup}", "Score cache lookups by result (hit or miss).");
        _cacheErrors = meter.CreateCounter<long>("scoring.cache.errors", "{error}", "Score cache calls that failed and fell back to the database.");
        _cacheRepairs = meter.CreateCounter<long>("scoring.cache.repairs", "{entry}", "Cache entries rewritten after a failed write, once Redis answered again.");
        _cacheNotices = meter.CreateCounter<long>("scoring.cache.change_notices", "{notice}", "Change notices received for near copies (each write to Redis, from any replica, sends one).");
        _scoreReads = meter.CreateCounter<long>(
            "scoring.cache.fallback_reads", "{user}",
            "Users the cache could not answer, by what happened: read from the database, coalesced into another call's read under way, or shed with UNAVAILABLE because too many reads were waiting.");
        _standingChanges = meter.CreateCounter<long>("scoring.standing.changes", "{change}", "Changes of standing written to the feed, by cause and new standing.");

        _violationsRecorded = meter.CreateCounter<long>(
            "scoring.violations.recorded", "{violation}", "Violations newly recorded, counted after their commit (replays and conflicts record nothing).");
        _appealsSubmitted = meter.CreateCounter<long>(
            "scoring.appeals.submitted", "{appeal}", "Appeals opened, by the appealed violation's category, counted after their commit (a replayed request_id opens nothing).");
        _appealsDecided = meter.CreateCounter<long>(
            "scoring.appeals.decided", "{appeal}", "Appeals decided, by outcome (upheld, overturned or reduced), counted after their commit.");
        _appealDecision = meter.CreateHistogram(
            "scoring.appeal.decision", "s", "Time from an appeal's submission to its decision.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DecisionBuckets });

        meter.CreateObservableGauge(
            "scoring.appeals.open", () => _live.OpenAppeals, "{appeal}",
            "Appeals waiting for a decision (SUBMITTED or IN_REVIEW) in the whole database, as of the last refresh.");
        meter.CreateObservableGauge(
            "scoring.appeals.overdue", () => _live.OverdueAppeals, "{appeal}",
            "Open appeals past their due_at, as of the last refresh.");
        meter.CreateObservableGauge(
            "scoring.cache.repairs_pending", () => _live.CacheRepairsPending, "{user}",
            "Users whose Redis entry may be stale (rows of score_cache_repairs), as of the last refresh.");
    }

    public void CacheLookups(long hits, long misses)
    {
        if (hits > 0)
        {
            _cacheLookups.Add(hits, new KeyValuePair<string, object?>("result", "hit"));
        }

        if (misses > 0)
        {
            _cacheLookups.Add(misses, new KeyValuePair<string, object?>("result", "miss"));
        }
    }

    public void CacheError(string operation) => _cacheErrors.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public void CacheChangeNotice() => _cacheNotices.Add(1);

    /// <summary>Counts cache misses by what answered them: "read", "coalesced" or "shed".</summary>
    public void FallbackReads(string result, long users)
    {
        if (users > 0)
        {
            _scoreReads.Add(users, new KeyValuePair<string, object?>("result", result));
        }
    }

    public void CacheRepaired(long entries) => _cacheRepairs.Add(entries);

    /// <summary>Reports whether Redis is reachable (1) or not (0): its loss degrades reads, and shows here.</summary>
    public void ObserveCacheAvailability(Func<bool> available) =>
        _meter.CreateObservableGauge("scoring.cache.available", () => available() ? 1 : 0, "{state}", "1 while Redis is connected, 0 while reads fall back to the database.");

    /// <summary>Counts changes of standing this process wrote, by cause and the standing reached.</summary>
    public void StandingChanges(IReadOnlyList<StandingChange> changes)
    {
        foreach (var change in changes)
        {
            _standingChanges.Add(
                1,
                new KeyValuePair<string, object?>("cause", change.Cause.ToString().ToLowerInvariant()),
                new KeyValuePair<string, object?>("standing", change.Standing.ToString().ToLowerInvariant()));
        }
    }

    /// <summary>How long the next standing change this replica has to hand out has waited, in seconds (0 when caught up).</summary>
    public void ObserveFeedLag(Func<double> seconds) =>
        _meter.CreateObservableGauge("scoring.feed.lag", seconds, "s", "Seconds the next standing change for this replica's watchers (the first in revision order not yet handed out) has waited since it was written (0 when caught up).");
    /// <summary>A violation recorded for the first time; call after its commit.</summary>
    public void ViolationRecorded(Violation violation) => _violationsRecorded.Add(
        1,
        new KeyValuePair<string, object?>("category", violation.Category),
        new KeyValuePair<string, object?>("severity", Label(violation.Severity)),
        new KeyValuePair<string, object?>("automated", violation.Automated ? "true" : "false"));

    /// <summary>An appeal opened against a violation of <paramref name="category"/>; call after its commit.</summary>
    public void AppealSubmitted(string category) => _appealsSubmitted.Add(1, new KeyValuePair<string, object?>("category", category));

    /// <summary>An appeal decided (<paramref name="outcome"/> is its decided state); call after its commit.</summary>
    public void AppealDecided(AppealState outcome, TimeSpan sinceSubmitted)
    {
        _appealsDecided.Add(1, new KeyValuePair<string, object?>("outcome", Label(outcome)));
        _appealDecision.Record(sinceSubmitted.TotalSeconds);
    }

    /// <summary>Reports the write queue's reports in hand and its capacity, read at each scrape (no I/O).</summary>
    public void ObserveWriteQueue(Func<int> depth, int capacity)
    {
        _meter.CreateObservableGauge("scoring.write_queue.depth", depth, "{report}", "Violation reports waiting for a writer or being written.");
        _meter.CreateObservableGauge("scoring.write_queue.capacity", () => capacity, "{report}", "Reports the write queue holds before it answers UNAVAILABLE (Scoring:WriteQueueCapacity).");
    }

    /// <summary>The figures the database-wide gauges report until the next refresh.</summary>
    public void ReportLiveFigures(LiveFigures figures) => _live = figures;

    private static string Label(Severity severity) => severity switch
    {
        Severity.Low => "low",
        Severity.Medium => "medium",
        Severity.High => "high",
        Severity.Critical => "critical",
        _ => "unspecified",
    };

    private static string Label(AppealState outcome) => outcome switch
    {
        AppealState.Upheld => "upheld",
        AppealState.Overturned => "overturned",
        AppealState.Reduced => "reduced",
        _ => "unspecified",
    };
}

/// <summary>
/// Database-wide figures read periodically rather than per scrape: every replica reports the same values,
/// so dashboards and alerts take their <c>max</c>, not their sum.
/// </summary>
/// <param name="AsOf">The instant the figures were read at (overdue means due before it).</param>
public sealed record LiveFigures(long OpenAppeals, long OverdueAppeals, long CacheRepairsPending, DateTimeOffset AsOf)
{
    /// <summary>Before the first refresh: zeros, so every series exists from the first scrape.</summary>
    public static readonly LiveFigures None = new(0, 0, 0, DateTimeOffset.MinValue);
}
