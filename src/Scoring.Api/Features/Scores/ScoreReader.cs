using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;

namespace Scoring.Api.Features.Scores;

/// <summary>
/// Reads scores the fast way: cached state first, the database only for misses (which are then cached).
/// Shared by every use case that answers with a score.
/// </summary>
public sealed class ScoreReader(ScoringDbContext db, IScoreCache cache, ScoringPolicy policy, TimeProvider timeProvider, ScoringMetrics metrics)
{
    public async ValueTask<Score> GetAsync(string userId, bool includeBreakdown, CancellationToken cancellationToken)
    {
        var scores = await GetManyAsync([userId], includeBreakdown, cancellationToken);
        return scores[0];
    }

    /// <summary>One score per user id, in the order given (duplicates allowed).</summary>
    public async ValueTask<Score[]> GetManyAsync(IReadOnlyList<string> userIds, bool includeBreakdown, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var states = await cache.GetAsync(userIds, cancellationToken);

        var misses = new List<string>();
        for (var i = 0; i < states.Length; i++)
        {
            if (states[i] is not { } state || state.PolicyVersion != policy.Version)
            {
                states[i] = null;
                misses.Add(userIds[i]);
            }
        }

        metrics.CacheLookups(hits: states.Length - misses.Count, misses: misses.Count);
        if (misses.Count > 0)
        {
            var loaded = await RefreshAsync(misses, now, cancellationToken);
            for (var i = 0; i < states.Length; i++)
            {
                states[i] ??= loaded[userIds[i]].State;
            }
        }

        var scores = new Score[states.Length];
        for (var i = 0; i < states.Length; i++)
        {
            scores[i] = ScoreCalculator.Compute(policy, states[i]!.Violations, now, includeBreakdown);
        }

        return scores;
    }

    /// <summary>
    /// Reads the users' state from the database, ignoring the cache, and writes it to the cache.
    /// <c>Cached</c> tells whether the cache now holds this state or a newer one.
    /// </summary>
    public async ValueTask<Dictionary<string, (ScoreState State, bool Cached)>> RefreshAsync(
        IReadOnlyCollection<string> userIds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var loaded = await db.LoadScoreStatesAsync(userIds, policy, now, cancellationToken);

        // All writes at once: the Redis client pipelines them, so a cold GetScores costs one round trip, not one per user.
        var writes = loaded.Select(async pair => (pair.Key, pair.Value, Cached: await cache.SetAsync(pair.Key, pair.Value, CancellationToken.None))).ToList();
        var refreshed = new Dictionary<string, (ScoreState, bool)>(loaded.Count, StringComparer.Ordinal);
        foreach (var (userId, state, cached) in await Task.WhenAll(writes))
        {
            if (!cached)
            {
                await MarkForRepairAsync(userId, state);
            }

            refreshed[userId] = (state, cached);
        }

        return refreshed;
    }

    /// <summary>
    /// Writes freshly read or committed state to the cache. If that fails, the user is recorded for
    /// repair before the caller replies, so the stale entry is rewritten later by any replica
    /// (<see cref="ScoreCacheRepairService"/>), even if this one crashes.
    /// </summary>
    public async ValueTask<bool> CacheAsync(string userId, ScoreState state)
    {
        // Not cancellable: the data is read or committed, and the cache must learn about it.
        if (await cache.SetAsync(userId, state, CancellationToken.None))
        {
            return true;
        }

        await MarkForRepairAsync(userId, state);
        return false;
    }

    /// <summary>Records a failed cache write so that a replica rewrites the entry once Redis answers.</summary>
    private async Task MarkForRepairAsync(string userId, ScoreState state)
    {
        try
        {
            await db.MarkCacheRepairAsync(userId, state.Version, CancellationToken.None);
        }
        catch (Exception exception) when (DatabaseErrors.IsUnavailable(exception))
        {
            // The process-local mark in the cache still keeps this replica from serving the stale entry.
        }
    }

    /// <summary>Computes a score now from state already in hand.</summary>
    public Score Compute(ScoreState state, bool includeBreakdown = false) =>
        ScoreCalculator.Compute(policy, state.Violations, timeProvider.GetUtcNow(), includeBreakdown);
}
