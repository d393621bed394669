namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// Serialises writers of one user's score and numbers their commits, so the cache can refuse
/// an entry older than the one it holds.
/// </summary>
public sealed class UserScoreVersion
{
    public required string UserId { get; init; }
    public long Version { get; init; }
}
