namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// A user whose cache entry may be stale because writing it failed. Kept in the database so that any
/// replica, including one started after a crash, rewrites the entry once Redis answers.
/// </summary>
public sealed class ScoreCacheRepair
{
    public required string UserId { get; init; }

    /// <summary>The score version that failed to reach the cache; a repair at this version or later clears it.</summary>
    public long Version { get; init; }
}
