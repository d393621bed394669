using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Domain;
using Scoring.Domain.Appeals;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>The queries that turn stored violations into per-user score state.</summary>
public static class ScoreStateQueries
{
    /// <summary>
    /// Takes the users' write locks (row locks held until the transaction ends) and returns each one's
    /// next score version. Runs first in every write transaction, so writers of one user queue here and
    /// each sees every earlier commit. Rows lock in the order given: callers sort the ids.
    /// </summary>
    public static async Task<Dictionary<string, long>> LockNextScoreVersionsAsync(
        this ScoringDbContext db, IReadOnlyList<string> userIds, CancellationToken cancellationToken)
    {
        // Only placeholders are spliced in; the ids travel as parameters.
        var sql = $"""
            INSERT INTO user_score_versions (user_id, version) VALUES {string.Join(", ", userIds.Select((_, i) => $"({{{i}}}, 1)"))}
            ON CONFLICT (user_id) DO UPDATE SET version = user_score_versions.version + 1
            RETURNING user_id, version
            """;
        var versions = await db.UserScoreVersions
            .FromSqlRaw(sql, [.. userIds])
            .AsNoTracking()
            .ToListAsync(cancellationToken);
        return versions.ToDictionary(v => v.UserId, v => v.Version, StringComparer.Ordinal);
    }

    /// <summary>The last audit entry of each user that has one: where each chain continues.</summary>
    public static Task<Dictionary<string, AuditEntry>> LoadAuditHeadsAsync(
        this ScoringDbContext db, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        // One probe of the (user_id, sequence) index per user, whatever the planner thinks of the table
        // (EF Core turns the LINQ form into a window over every entry): a lateral join on PostgreSQL;
        // SQLite, which has no lateral joins, walks the same index for its correlated max.
        var ids = userIds.ToArray();
        var heads = db.Database.IsNpgsql()
            ? db.AuditEntries.FromSql($"""
                SELECT head.* FROM unnest({ids}) AS u(user_id)
                CROSS JOIN LATERAL (
                    SELECT * FROM audit_entries AS e WHERE e.user_id = u.user_id ORDER BY e.sequence DESC LIMIT 1
                ) AS head
                """)
            : db.AuditEntries.Where(e => ids.Contains(e.UserId)
                && e.Sequence == db.AuditEntries.Where(last => last.UserId == e.UserId).Max(last => last.Sequence));
        return heads.AsNoTracking().ToDictionaryAsync(e => e.UserId, StringComparer.Ordinal, cancellationToken);
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

    /// <summary>The counting violations of each user inside its write transaction, after the change.</summary>
    public static async Task<ILookup<string, ScoredViolation>> LoadCountingAsync(
        this ScoringDbContext db, IReadOnlyCollection<string> userIds, ScoringPolicy policy, DateTimeOffset at, CancellationToken cancellationToken)
    {
        // CountingAt keeps only active violations, so an open appeal is all "contested" needs to check.
        var counting = await db.Violations.AsNoTracking()
            .Where(v => userIds.Contains(v.UserId))
            .CountingAt(policy, at)
            .Select(v => new { v.UserId, Scored = new ScoredViolation(v.Id, v.Category, v.Severity, v.BasePoints, v.OccurredAt, v.AppealState == AppealState.Submitted || v.AppealState == AppealState.InReview) })
            .ToListAsync(cancellationToken);
        return counting.ToLookup(v => v.UserId, v => v.Scored, StringComparer.Ordinal);
    }
}
