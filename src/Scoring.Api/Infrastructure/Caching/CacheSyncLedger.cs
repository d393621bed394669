using System.Collections.Concurrent;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Versions the cache now holds, waiting to be recorded in the database by
/// <see cref="ScoreCacheSyncService"/>, so the request path does no database work after its commit.
/// Losing them (a crash) only leaves marks that a replica's sweep clears by rewriting the entries.
/// </summary>
public sealed class CacheSyncLedger(bool tracking)
{
    private readonly ConcurrentDictionary<string, long> _synced = new(StringComparer.Ordinal);

    /// <summary>Whether anyone reads the ledger: without Redis there is nothing to repair, so nothing is kept.</summary>
    public bool Tracking { get; } = tracking;

    public void Acknowledge(string userId, long version)
    {
        if (Tracking)
        {
            _synced.AddOrUpdate(userId, version, (_, held) => Math.Max(held, version));
        }
    }

    /// <summary>Takes what has been acknowledged so far (at most <paramref name="limit"/> users).</summary>
    public List<(string UserId, long Version)> Take(int limit)
    {
        var taken = new List<(string, long)>();
        foreach (var pair in _synced)
        {
            if (taken.Count == limit)
            {
                break;
            }

            // Compare-and-remove: a newer acknowledgement arriving meanwhile stays for the next round.
            if (_synced.TryRemove(pair))
            {
                taken.Add((pair.Key, pair.Value));
            }
        }

        return taken;
    }
}
