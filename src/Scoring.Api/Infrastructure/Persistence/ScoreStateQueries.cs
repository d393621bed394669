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
    /// Takes the users' write locks (row locks held until the transaction ends), raises each one's
    /// version and returns the rows: the new version and where each audit chain continues. Runs first in
    /// every write transaction, so writers of one user queue here and each sees every earlier commit.
    /// With <paramref name="markCache"/>, the same statement records each user as possibly stale in the
    /// cache (<see cref="ScoreCacheRepair"/>), so the mark commits or rolls back with the change itself.
    /// Rows lock in the order given: callers sort the ids.
    /// </summary>
    public static async Task<Dictionary<string, UserScoreVersion>> LockUsersAsync(
        this ScoringDbContext db, IReadOnlyList<string> userIds, bool markCache, CancellationToken cancellationToken)
    {
        // The lock row's columns by name, not *: a column a later release's migration adds must not change
        // this prepared statement's result, which PostgreSQL refuses (0A000) on every pooled connection.
        const string Upsert = """
            ON CONFLICT (user_id) DO UPDATE SET version = user_score_versions.version + 1
            RETURNING user_id, version, audit_sequence, audit_hash, audit_at, standing, standing_drops_at, counting
            """;
        const string Mark = """
            INSERT INTO score_cache_repairs (user_id, version) SELECT user_id, version FROM locked
            ON CONFLICT (user_id) DO UPDATE SET version = excluded.version
            """;
        List<UserScoreVersion> rows;
        if (db.IsPostgres)
        {
            // One text whatever the number of users (so it is prepared once), rows in the order given, and
            // the cache marks written by the same statement.
            var ids = userIds.ToArray();
            var insert = """
                INSERT INTO user_score_versions (user_id, version, audit_sequence)
                SELECT u.user_id, 1, 0 FROM unnest({0}::text[]) WITH ORDINALITY AS u(user_id, n) ORDER BY u.n

                """ + Upsert;
            var sql = markCache ? $"WITH locked AS ({insert}), marked AS ({Mark}) SELECT * FROM locked" : insert;
            rows = await db.UserScoreVersions.FromSqlRaw(sql, [ids]).AsNoTracking().ToListAsync(cancellationToken);
        }
        else
        {
            // Only placeholders are spliced in; the ids travel as parameters. SQLite has no data-modifying
            // CTEs, so the marks take a statement of their own.
            var insert = $"""
                INSERT INTO user_score_versions (user_id, version, audit_sequence) VALUES {string.Join(", ", userIds.Select((_, i) => $"({{{i}}}, 1, 0)"))}

                """ + Upsert;
            rows = await db.UserScoreVersions.FromSqlRaw(insert, [.. userIds]).AsNoTracking().ToListAsync(cancellationToken);
            if (markCache)
            {
                foreach (var row in rows)
                {
                    await db.Database.ExecuteSqlAsync(
                        $"INSERT INTO score_cache_repairs (user_id, version) VALUES ({row.UserId}, {row.Version}) ON CONFLICT (user_id) DO UPDATE SET version = excluded.version",
                        cancellationToken);
                }
            }
        }

        return rows.ToDictionary(v => v.UserId, StringComparer.Ordinal);
    }

    /// <summary>
    /// Sets the users' audit heads on their lock rows from their chains. For a row that lags its chain:
    /// written by a release that kept no head there, or recreated after such a release erased the user.
    /// </summary>
    public static Task RepairAuditHeadsAsync(this ScoringDbContext db, IReadOnlyList<string> userIds, CancellationToken cancellationToken)
    {
        // Only placeholders are spliced in; the ids travel as parameters.
        var placeholders = string.Join(", ", userIds.Select((_, i) => $"{{{i}}}"));
        var sql = """
            UPDATE user_score_versions SET
              audit_sequence = COALESCE((SELECT max(e.sequence) FROM audit_entries AS e WHERE e.user_id = user_score_versions.user_id), 0),
              audit_hash = (SELECT e.hash FROM audit_entries AS e WHERE e.user_id = user_score_versions.user_id ORDER BY e.sequence DESC LIMIT 1),
              audit_at = (SELECT e.occurred_at FROM audit_entries AS e WHERE e.user_id = user_score_versions.user_id ORDER BY e.sequence DESC LIMIT 1)
            WHERE user_id IN (
            """ + placeholders + ")";
        return db.Database.ExecuteSqlRawAsync(sql, [.. userIds], cancellationToken);
    }

    /// <summary>
    /// Clears the marks of users whose cache now holds the given version (or a later one). Best effort
    /// and off the request path: a mark left here only gets its entry rewritten by the sweep, which is
    /// harmless. On PostgreSQL marks a writer holds are skipped rather than waited for.
    /// </summary>
    public static async Task AcknowledgeCachedAsync(
        this ScoringDbContext db, IReadOnlyCollection<(string UserId, long Version)> synced, CancellationToken cancellationToken)
    {
        var ordered = synced.OrderBy(s => s.UserId, StringComparer.Ordinal).ToArray();
        if (db.IsPostgres)
        {
            var ids = ordered.Select(s => s.UserId).ToArray();
            var versions = ordered.Select(s => s.Version).ToArray();
            // Each mark is found once (one probe of the key), locked unless a writer holds it, and deleted
            // where it lies. The version is compared on the row as locked, so a mark a writer raised since
            // stays; its row then lies elsewhere than this statement's snapshot can see, and stays too.
            await db.Database.ExecuteSqlAsync($"""
                DELETE FROM score_cache_repairs WHERE ctid = ANY (ARRAY(
                  SELECT r.ctid FROM unnest({ids}, {versions}) AS s(user_id, version)
                  JOIN score_cache_repairs AS r ON r.user_id = s.user_id AND r.version <= s.version
                  ORDER BY r.user_id
                  FOR UPDATE OF r SKIP LOCKED))
                """, cancellationToken);
            return;
        }

        // SQLite has one writer at a time: one short transaction for the lot.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        foreach (var (userId, version) in ordered)
        {
            await db.Database.ExecuteSqlAsync(
                $"DELETE FROM score_cache_repairs WHERE user_id = {userId} AND version <= {version}", cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Users whose cache entry may be stale (a change committed that the cache is not known to hold), with
    /// the version marked, in user order from after <paramref name="after"/> (null: from the first).
    /// </summary>
    public static Task<List<ScoreCacheRepair>> LoadUnsyncedAsync(this ScoringDbContext db, string? after, int limit, CancellationToken cancellationToken) =>
        (after is null ? db.ScoreCacheRepairs : db.ScoreCacheRepairs.Where(r => r.UserId.CompareTo(after) > 0))
            .AsNoTracking()
            .OrderBy(r => r.UserId)
            .Take(limit)
            .ToListAsync(cancellationToken);

    /// <summary>
    /// The stored violations with exactly these (source, event id) keys, each found by one probe of the
    /// unique index: matching sources and event ids separately would scan every event of a source.
    /// </summary>
    public static Task<List<Violation>> LoadRecordedAsync(
        this ScoringDbContext db, IReadOnlyCollection<(string Source, string EventId)> keys, CancellationToken cancellationToken)
    {
        var violations = db.Violations;
        var sources = keys.Select(k => k.Source).ToArray();
        var eventIds = keys.Select(k => k.EventId).ToArray();
        if (db.IsPostgres)
        {
            // A lateral subquery with a LIMIT cannot be turned into a join, so each key is one probe of the
            // unique index whatever the statistics say. As a join, a group of 500 keys on a table whose
            // statistics lagged its growth was planned as a hash join over a scan of every violation.
            // Composed (ordered), so EF Core selects the columns it maps by name around it: a column a later
            // release's migration adds then leaves the prepared statement's result as it was.
            return violations.FromSql($"""
                SELECT v.* FROM unnest({sources}, {eventIds}) AS k(source, event_id)
                CROSS JOIN LATERAL (SELECT * FROM violations AS v WHERE v.source = k.source AND v.event_id = k.event_id LIMIT 1) AS v
                """).OrderBy(v => v.Id).AsNoTracking().ToListAsync(cancellationToken);
        }

        // SQLite has no unnest: one query per source (reports nearly always share one), each probing the
        // index with its source and event ids.
        return LoadPerSourceAsync();

        async Task<List<Violation>> LoadPerSourceAsync()
        {
            var found = new List<Violation>();
            foreach (var group in keys.GroupBy(k => k.Source, k => k.EventId))
            {
                var source = group.Key;
                var ids = group.ToArray();
                found.AddRange(await violations.AsNoTracking()
                    .Where(v => v.Source == source && ids.Contains(v.EventId))
                    .ToListAsync(cancellationToken));
            }

            return found;
        }
    }

    /// <summary>
    /// The violations of these users that count at <paramref name="at"/> (<see cref="CountingAt"/>), untracked.
    /// On PostgreSQL each user is a range of the per-user index from max_age ago, plus a probe of the index
    /// of CRITICAL violations for older zero-tolerance ones: a user's older violations, a year of them under
    /// the default policy, are not read. The <c>OFFSET 0</c> keeps the lateral subquery from being turned
    /// into a join, which a table whose statistics lagged its growth got planned as a scan of every
    /// violation (a write group's counting query read the whole table that way). The status and severity
    /// are written into the text, not passed: a generic plan can use the partial index only for a
    /// condition it can see implies the index's own.
    /// </summary>
    private static IQueryable<Violation> CountingViolationsOf(this ScoringDbContext db, string[] userIds, ScoringPolicy policy, DateTimeOffset at)
    {
        if (!db.IsPostgres)
        {
            return db.Violations.AsNoTracking().Where(v => userIds.Contains(v.UserId)).CountingAt(policy, at);
        }

        var sql = $$"""
            SELECT v.* FROM unnest({0}) AS u(user_id)
            CROSS JOIN LATERAL (
              SELECT * FROM violations AS v WHERE v.user_id = u.user_id AND v.status = {{(int)ViolationStatus.Active}} AND v.occurred_at >= {1}
              UNION ALL
              SELECT * FROM violations AS v WHERE v.user_id = u.user_id AND v.severity = {{(int)Severity.Critical}} AND v.status = {{(int)ViolationStatus.Active}}
                AND v.occurred_at < {1} AND v.category = ANY ({2})
              OFFSET 0) AS v
            """;
        return db.Violations.FromSqlRaw(sql, userIds, at - policy.MaxAge, ZeroToleranceCategories(policy)).AsNoTracking();
    }

    /// <summary>Each violation as the score needs it, beside its user: contested while an appeal of it is open.</summary>
    public static IQueryable<UserViolation> Scored(this IQueryable<Violation> violations) =>
        violations.Select(v => new UserViolation(
            v.UserId, new ScoredViolation(v.Id, v.Category, v.Severity, v.OccurredAt, v.AppealState == AppealState.Submitted || v.AppealState == AppealState.InReview)));

    /// <summary>
    /// Violations that count at <paramref name="at"/>: active, and not past max_age unless permanent. The
    /// query form of <see cref="ScoringPolicy.Counts"/>, which the write path applies in memory.
    /// </summary>
    public static IQueryable<Violation> CountingAt(this IQueryable<Violation> violations, ScoringPolicy policy, DateTimeOffset at)
    {
        var oldest = at - policy.MaxAge;
        var zeroTolerance = ZeroToleranceCategories(policy);
        return violations.Where(v =>
            v.Status == ViolationStatus.Active
            && (v.OccurredAt >= oldest || (v.Severity == Severity.Critical && zeroTolerance.Contains(v.Category))));
    }

    private static string[] ZeroToleranceCategories(ScoringPolicy policy) => [.. policy.Categories.Where(c => c.ZeroTolerance).Select(c => c.Name)];

    /// <summary>
    /// Loads the score state of each user, keyed by user id (users never written get version 0).
    /// Versions are read before violations: the data is then at least as new as its version, and the
    /// cache's compare-and-set lets the writer of any newer version replace it. A user whose lock row keeps
    /// the copy its last write left (<see cref="CountingSnapshot"/>) is answered from it, exactly at the
    /// row's version, without reading its violations.
    /// </summary>
    public static async Task<Dictionary<string, ScoreState>> LoadScoreStatesAsync(
        this ScoringDbContext db, IReadOnlyCollection<string> userIds, ScoringPolicy policy, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var ids = userIds.Distinct().ToArray();
        var rows = await db.UserScoreVersions.AsNoTracking()
            .Where(u => ids.Contains(u.UserId))
            .ToDictionaryAsync(u => u.UserId, cancellationToken);

        var kept = new Dictionary<string, ScoredViolation[]>(ids.Length, StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (rows.GetValueOrDefault(id) is { } row && CountingSnapshot.CountingAt(row, underLock: false, policy, at) is { } counting)
            {
                kept[id] = [.. counting];
            }
        }

        var unread = ids.Where(id => !kept.ContainsKey(id)).ToArray();
        var read = unread.Length == 0
            ? null
            : (await db.CountingViolationsOf(unread, policy, at).Scored().ToListAsync(cancellationToken)).ToLookup(v => v.UserId, v => v.Scored);
        return ids.ToDictionary(
            id => id,
            id => new ScoreState(rows.GetValueOrDefault(id)?.Version ?? 0, policy.Version, kept.TryGetValue(id, out var counting) ? counting : [.. read![id]]));
    }

    /// <summary>The counting violations of each user at <paramref name="at"/>, inside its write transaction (before or after the change).</summary>
    public static async Task<ILookup<string, ScoredViolation>> LoadCountingAsync(
        this ScoringDbContext db, IReadOnlyCollection<string> userIds, ScoringPolicy policy, DateTimeOffset at, CancellationToken cancellationToken)
    {
        // Only active violations count, so an open appeal is all "contested" needs to check.
        var counting = await db.CountingViolationsOf([.. userIds], policy, at)
            .Scored()
            .ToListAsync(cancellationToken);
        return counting.ToLookup(v => v.UserId, v => v.Scored, StringComparer.Ordinal);
    }
}

/// <summary>A violation as the score needs it, with the user it belongs to.</summary>
public readonly record struct UserViolation(string UserId, ScoredViolation Scored);
