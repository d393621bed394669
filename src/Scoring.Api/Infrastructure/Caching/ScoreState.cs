using Scoring.Domain.Scores;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Everything needed to compute a user's score at any instant: the violations that still count,
/// the score version they were read at, and the policy version they were read under.
/// </summary>
public sealed record ScoreState(long Version, string PolicyVersion, IReadOnlyList<ScoredViolation> Violations)
{
    /// <summary>
    /// Whether this state may replace <paramref name="cached"/>: a newer version always does; the same
    /// version does only to move it to another policy. An older version never does.
    /// </summary>
    public bool Supersedes(ScoreState cached) =>
        Version > cached.Version || (Version == cached.Version && PolicyVersion != cached.PolicyVersion);
}
