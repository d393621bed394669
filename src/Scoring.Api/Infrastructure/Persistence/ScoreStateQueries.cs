using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Domain;
using Scoring.Domain.Appeals;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>The queries that turn stored violations into per-user score state.</summary>
public static class ScoreStateQueries
{
    /// <summary>
    /// Takes the user's write lock (a row lock held until the transaction ends) and returns the next
    /// score version. Runs first in every write transaction, so writers of one user queue here and
    /// each sees every earlier commit.
    /// </summary>
    public static async Task<long> LockNextScoreVersionAsync(this ScoringDbContext db, string userId, CancellationToken cancellationToken)
    {
        var versions = await db.Database
            .SqlQuery<long>($"""
                INSERT INTO user_score_versions (user_id, version) VALUES ({userId}, 1)
                ON CONFLICT (user_id) DO UPDATE SET version = user_score_versions.version + 1
                RETURNING version AS "Value"
                """)
            .ToListAsync(cancellationToken);
        return versions[0];
    }

    /// <summary>Records (or raises) the version whose cache write failed, keeping the highest.</summary>
    public static Task MarkCacheRepairAsync(this ScoringDbContext db, string userId, long version, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlAsync($"""
            INSERT INTO score_cache_repairs (user_id, version) VALUES ({userId}, {version})
            ON CONFLICT (user_id) DO UPDATE SET version = excluded.version
            WHERE excluded.version > score_cache_repairs.version
            """, cancellationToken);

    /// <summary>Clears a repair once the cache holds <paramref name="version"/>; a later failure keeps its row.</summary>
    public static Task<int> ClearCacheRepairAsync(this ScoringDbContext db, string userId, long version, CancellationToken cancellationToken) =>
        db.ScoreCacheRepairs.Where(r => r.UserId == userId && r.Version <= version).ExecuteDeleteAsync(cancellationToken);

    /// <summary>Violations that count at <paramref name="at"/>: active, and not past max_age unless permanent.</summary>
    public static IQueryable<Violation> CountingAt(this IQueryable<Violation> violations, ScoringPolicy policy, DateTimeOffset at)
    {
        var oldest = at - policy.MaxAge;
        var zeroTolerance = policy.Categories.Where(c => c.ZeroTolerance).Select(c => c.Name).ToArray();
        return violations.Where(v =>
            v.Status == ViolationStatus.Active
            && (v.OccurredAt >= oldest || (v.Severity == Severity.Critical && zeroTolerance.Contains(v.Category))));
    }

    /// <summary>
    /// Loads the score state of each user, keyed by user id (users never written get version 0).
    /// Versions are read before violations: the data is then at least as new as its version, and the
    /// cache's compare-and-set lets the writer of any newer version replace it.
    /// </summary>
    public static async Task<Dictionary<string, ScoreState>> LoadScoreStatesAsync(
        this ScoringDbContext db, IReadOnlyCollection<string> userIds, ScoringPolicy policy, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var ids = userIds.Distinct().ToArray();
        var versions = await db.UserScoreVersions.AsNoTracking()
            .Where(u => ids.Contains(u.UserId))
            .ToDictionaryAsync(u => u.UserId, u => u.Version, cancellationToken);

        var violations = await db.Violations.AsNoTracking()
            .Where(v => ids.Contains(v.UserId))
            .CountingAt(policy, at)
            .Select(v => new { v.UserId, Scored = new ScoredViolation(v.Id, v.Category, v.Severity, v.BasePoints, v.OccurredAt, v.AppealState == AppealState.Submitted || v.AppealState == AppealState.InReview) })
            .ToListAsync(cancellationToken);

        var byUser = violations.ToLookup(v => v.UserId, v => v.Scored);
        return ids.ToDictionary(
            id => id,
            id => new ScoreState(versions.GetValueOrDefault(id), policy.Version, [.. byUser[id]]));
    }

    /// <summary>The score state of one user inside its write transaction, after the change.</summary>
    public static async Task<List<ScoredViolation>> LoadCountingAsync(
        this ScoringDbContext db, string userId, ScoringPolicy policy, DateTimeOffset at, CancellationToken cancellationToken)
    {
        // CountingAt keeps only active violations, so an open appeal is all "contested" needs to check.
        return await db.Violations.AsNoTracking()
            .Where(v => v.UserId == userId)
            .CountingAt(policy, at)
            .Select(v => new ScoredViolation(v.Id, v.Category, v.Severity, v.BasePoints, v.OccurredAt, v.AppealState == AppealState.Submitted || v.AppealState == AppealState.InReview))
            .ToListAsync(cancellationToken);
    }
}
