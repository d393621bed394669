using System.Diagnostics.Metrics;
using Scoring.Domain.Standings;

namespace Scoring.Api.Infrastructure.Telemetry;

/// <summary>The service's own instruments, on one meter named <see cref="MeterName"/>.</summary>
public sealed class ScoringMetrics
{
    public const string MeterName = "Scoring";

    private readonly Counter<long> _cacheLookups;
    private readonly Counter<long> _cacheErrors;
    private readonly Counter<long> _cacheRepairs;
    private readonly Counter<long> _cacheNotices;
    private readonly Counter<long> _standingChanges;
    private readonly Meter _meter;

    public ScoringMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _cacheLookups = meter.CreateCounter<long>("scoring.cache.lookups", "{lookup}", "Score cache lookups by result (hit or miss).");
        _cacheErrors = meter.CreateCounter<long>("scoring.cache.errors", "{error}", "Score cache calls that failed and fell back to the database.");
        _cacheRepairs = meter.CreateCounter<long>("scoring.cache.repairs", "{entry}", "Cache entries rewritten after a failed write, once Redis answered again.");
        _cacheNotices = meter.CreateCounter<long>("scoring.cache.change_notices", "{notice}", "Change notices received for near copies (each write to Redis, from any replica, sends one).");
        _standingChanges = meter.CreateCounter<long>("scoring.standing.changes", "{change}", "Changes of standing written to the feed, by cause and new standing.");
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

    /// <summary>How far behind its commit the feed reader saw the newest change, in seconds (0 while idle).</summary>
    public void ObserveFeedLag(Func<double> seconds) =>
        _meter.CreateObservableGauge("scoring.feed.lag", seconds, "s", "Seconds between the newest standing change read by this replica's feed reader and its commit.");
}
