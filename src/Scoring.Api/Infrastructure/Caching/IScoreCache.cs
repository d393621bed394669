namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Per-user score state, so hot-path reads skip the database. Implementations never throw for a
/// cache fault: a failed read is a miss and a failed write is repaired on this process's next read.
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
    /// Forgets the user (an erasure) and, for a short while, refuses writes for them, so a write that was
    /// already in flight cannot bring erased state back. False when the cache could not be reached.
    /// </summary>
    ValueTask<bool> RemoveAsync(string userId, CancellationToken cancellationToken);
}
