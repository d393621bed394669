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
                states[i] ??= loaded[userIds[i]];
            }
        }

        var scores = new Score[states.Length];
        for (var i = 0; i < states.Length; i++)
        {
            scores[i] = ScoreCalculator.Compute(policy, states[i]!.Violations, now, includeBreakdown);
        }

        return scores;
    }

    /// <summary>Reads the users' state from the database, ignoring the cache, and writes it to the cache.</summary>
    private async ValueTask<Dictionary<string, ScoreState>> RefreshAsync(
        IReadOnlyCollection<string> userIds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var loaded = await db.LoadScoreStatesAsync(userIds, policy, now, cancellationToken);

        // All writes at once: the Redis client pipelines them, so a cold GetScores costs one round trip,
        // not one per user. A failed write needs no repair: it replaces nothing newer than what the
        // database already marks as unsynced, and this process reads those users from the database.
        await Task.WhenAll(loaded.Select(pair => cache.SetAsync(pair.Key, pair.Value, CancellationToken.None).AsTask()));
        return loaded;
    }
}
