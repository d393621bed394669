namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Per-user score state, so hot-path reads skip the database. Implementations never throw for a
/// cache fault (an unreachable, slow or failing cache): a failed read is a miss, and a failed write
/// returns false, leaving the database's mark for a replica to repair. Anything else (a bug) is thrown.
/// An erasure is written like any change: the user's empty state at a newer version.
/// </summary>
public interface IScoreCache
{
    /// <summary>The cached state of each user in request order; null where missing or unusable.</summary>
    ValueTask<ScoreState?[]> GetAsync(IReadOnlyList<string> userIds, CancellationToken cancellationToken);

    /// <summary>
    /// Stores the state unless the cache already holds the same or a newer version. True when the cache
    /// is now at least as new as <paramref name="state"/>; false when the write failed.
    /// </summary>
    ValueTask<bool> SetAsync(string userId, ScoreState state, CancellationToken cancellationToken);

    /// <summary>
    /// Puts back a state just read from the database after a miss, unless the cache holds the same or a
    /// newer version, without waiting for the cache's answer. A fill that fails marks nothing for repair:
    /// it carries no change, and whatever change the cache lacks is tracked where it was written.
    /// <paramref name="readStarted"/> is no later than the instant the read began: a copy of it ages from there.
    /// </summary>
    void Fill(string userId, ScoreState state, DateTimeOffset readStarted);
}
