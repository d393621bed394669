namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// A user whose cache entry may be older than the database: written inside every write's transaction
/// (by the lock statement, <see cref="ScoreStateQueries.LockUsersAsync"/>) and deleted only once Redis
/// holds that version. So a failed cache write, or a crash between commit and cache write, leaves the row
/// for any replica to repair. The table holds only what is in flight or failed: it stays small.
/// </summary>
public sealed class ScoreCacheRepair
{
    public required string UserId { get; init; }

    /// <summary>The version committed last; the cache holding this version or a later one clears the row.</summary>
    public long Version { get; init; }
}
