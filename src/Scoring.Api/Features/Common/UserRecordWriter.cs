using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Standings;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using Scoring.Domain.Standings;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Common;

/// <summary>
/// Every change to a user's record goes through here, as one transaction: lock the users (which also
/// marks their cache entries as possibly stale), take the time, record the standing drops that happened
/// by themselves since the last write, apply the change, append its audit entries to each user's chain,
/// read what the scores need, record the change of standing the change made, commit. Then the cache
/// learns the new state, and only once it has does the mark go (later, in the background:
/// <see cref="CacheSyncLedger"/>). A change that only adds violations (recording them) is scored from what
/// counted before it plus the added ones, and everything it writes goes in one round trip before the commit.
/// What counted before comes back with the lock statement, from the copy the user's last write left on its
/// lock row (<see cref="CountingSnapshot"/>), or is read under the locks where there is none it can use:
/// three or four round trips under the locks for the whole group. Every write leaves a new copy.
/// Writers of one user queue on the lock, so checks made inside the change see every earlier commit.
/// Nothing touches the database after the commit, and the context is used by one operation at a time.
/// </summary>
public sealed class UserRecordWriter(
    ScoringDbContext db, IScoreCache cache, CacheSyncLedger ledger, ScoringPolicy policy, IIdGenerator ids, TimeProvider timeProvider, AuditKeyring auditKeys,
    StandingFeedSignal feedSignal, Reports.ReportRollup rollup)
{
    /// <summary>Runs <paramref name="change"/> for <paramref name="userId"/> and returns its result with the score after it.</summary>
    public async Task<(T Result, Score Score)> WriteAsync<T>(
        string userId, Func<UserRecordChange, CancellationToken, Task<T>> change, CancellationToken cancellationToken, bool onlyRecords = false)
    {
        var (result, _, scores) = await WriteManyAsync([userId], change, cancellationToken, onlyRecords);
        return (result, scores[userId]);
    }

    /// <summary>
    /// Runs <paramref name="change"/> for several users in one transaction (a batch costs one commit, not
    /// one per user) and returns its result, the instant it ran at, and each user's score after it (computed
    /// once, for the feed of standing changes, and handed back rather than computed again).
    /// </summary>
    /// <param name="onlyRecords">
    /// The change only adds violations, each passed to <see cref="UserRecordChange.Recorded"/>, and changes
    /// no stored one (nor anything else a score depends on): the users' violations are then read once, under
    /// the locks, and the scores computed from them and the added ones, instead of read again after the change.
    /// </param>
    public async Task<(T Result, DateTimeOffset At, IReadOnlyDictionary<string, Score> Scores)> WriteManyAsync<T>(
        IReadOnlyCollection<string> userIds, Func<UserRecordChange, CancellationToken, Task<T>> change, CancellationToken cancellationToken,
        bool onlyRecords = false)
    {
        // One order for every writer, so two groups sharing users cannot deadlock on their locks.
        var users = userIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        try
        {
            return await WriteOnceAsync(users, change, onlyRecords, cancellationToken);
        }
        catch (Exception exception) when (DatabaseErrors.IsAuditSequenceTaken(exception))
        {
            // A lock row's audit head lags its chain (a release before heads lived there appended or
            // erased after the upgrade's backfill). Read the heads from the chains and write once more.
            await db.RepairAuditHeadsAsync(users, cancellationToken);
            return await WriteOnceAsync(users, change, onlyRecords, cancellationToken);
        }
    }

    private async Task<(T Result, DateTimeOffset At, IReadOnlyDictionary<string, Score> Scores)> WriteOnceAsync<T>(
        string[] users, Func<UserRecordChange, CancellationToken, Task<T>> change, bool onlyRecords, CancellationToken cancellationToken)
    {
        T result;
        DateTimeOffset now;
        Dictionary<string, ScoreState> states;
        List<StandingChange> feed;
        Dictionary<string, Score> scores;
        try
        {
            // A failed SaveChanges rolls the whole transaction back, so savepoints would only cost round trips.
            db.Database.AutoSavepointsEnabled = false;
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var rows = await db.LockUsersAsync(users, markCache: ledger.Tracking, cancellationToken);

            // After the locks: a writer that waited for another must not stamp an earlier time than it.
            now = timeProvider.GetUtcNow();
            // What counted at the earliest instant the catch-up looks at: for every user when the change only
            // records (the scores after it are then computed from these), else only when a drop is due.
            var due = DueDrops(users, rows, now);
            var before = onlyRecords || due.Length > 0
                ? await LoadCountingBeforeAsync(onlyRecords ? users : due, due, rows, now, cancellationToken)
                : null;
            var (drops, standings) = CatchUpStandings(users, due, before, rows, now);
            var record = new UserRecordChange(now, users.Length == 1 ? users[0] : null, standings);
            result = await change(record, cancellationToken);
            AppendAudit(record.AuditChanges, rows, now);

            ILookup<string, ScoredViolation> counting;
            if (onlyRecords)
            {
                // The stored violations cannot have changed under the locks: those read before and the ones this
                // change records, each kept if it counts now (as the query would). Everything is written once,
                // after the standings.
                EnsureOnlyRecorded(record);
                counting = before!.SelectMany(group => group.Select(v => (User: group.Key, Violation: v)))
                    .Concat(record.RecordedViolations.Select(v => (User: v.UserId, Violation: v.ToScored())))
                    .Where(pair => policy.Counts(pair.Violation, now))
                    .ToLookup(pair => pair.User, pair => pair.Violation, StringComparer.Ordinal);
            }
            else
            {
                await db.WriteAddedAsync(cancellationToken);
                await db.SaveChangesAsync(cancellationToken);
                counting = await db.LoadCountingAsync(users, policy, now, cancellationToken);
            }

            states = users.ToDictionary(
                user => user, user => new ScoreState(rows[user].Version, policy.Version, [.. counting[user]]), StringComparer.Ordinal);
            KeepCounting(users, rows, states, now);
            scores = users.ToDictionary(user => user, user => ScoreCalculator.Compute(policy, states[user].Violations, now), StringComparer.Ordinal);
            if (record.Scored is { } scored)
            {
                await scored(scores, cancellationToken);
            }

            feed = await RecordStandingsAsync(users, rows, scores, drops, standings, record.Cause, now, cancellationToken);

            // Acknowledged only after this commit, so an acknowledged change survives a crash.
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            db.ChangeTracker.Clear();
        }

        if (feed.Count > 0)
        {
            feedSignal.Written(feed);
        }

        await SyncCacheAsync(states);
        return (result, now, scores);
    }

    /// <summary>
    /// Holds a change that promised to only record violations to it: every violation it touched is new and
    /// reported, else the scores computed without reading again would be wrong, and so would the cache.
    /// </summary>
    private void EnsureOnlyRecorded(UserRecordChange record)
    {
        var touched = db.ChangeTracker.Entries<Violation>().ToList();
        if (touched.Count != record.RecordedViolations.Count || touched.Exists(e => e.State != EntityState.Added))
        {
            throw new InvalidOperationException(
                $"A write scored from what it read before its change touched {touched.Count} violations, {record.RecordedViolations.Count} of them reported as recorded");
        }
    }

    /// <summary>
    /// The users whose recorded standing may have dropped by itself (decay, expiry) by now, or was never
    /// recorded (written before the feed existed).
    /// </summary>
    private static string[] DueDrops(string[] users, Dictionary<string, UserScoreVersion> rows, DateTimeOffset now) =>
        // Drop instants are rounded up to the second: one due within the next second may have happened already.
        [.. users.Where(user => rows[user].Standing == Standing.Unspecified || rows[user].StandingDropsAt <= now + TimeSpan.FromSeconds(1))];

    /// <summary>
    /// The earliest instant the catch-up looks at for a due user: counting from there, a violation that
    /// expired since still counts before. Now for any other user.
    /// </summary>
    private static DateTimeOffset CountingFrom(UserScoreVersion row, bool due, DateTimeOffset now) =>
        due && row.StandingDropsAt is { } dropsAt && dropsAt < now && row.Standing != Standing.Unspecified ? dropsAt : now;

    /// <summary>
    /// What counted for each of <paramref name="users"/> before the change: for a due user at the earliest
    /// instant its catch-up looks at, for any other now. Taken from the copy the user's last write kept on
    /// its lock row where it can say (<see cref="CountingSnapshot.CountingAt"/>); read from the violations for
    /// the others, at the earliest of their instants (what counted then is all that counts later).
    /// </summary>
    private async Task<ILookup<string, ScoredViolation>> LoadCountingBeforeAsync(
        string[] users, string[] due, Dictionary<string, UserScoreVersion> rows, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var dueUsers = due.ToHashSet(StringComparer.Ordinal);
        var kept = new List<UserViolation>();
        var unread = new List<string>();
        DateTimeOffset? from = null;
        foreach (var user in users)
        {
            var row = rows[user];
            var at = CountingFrom(row, dueUsers.Contains(user), now);
            if (CountingSnapshot.CountingAt(row, underLock: true, policy, at) is { } counting)
            {
                kept.AddRange(counting.Select(v => new UserViolation(user, v)));
                continue;
            }

            unread.Add(user);
            from = from is { } earliest && earliest < at ? earliest : at;
        }

        if (from is { } readAt)
        {
            var read = await db.LoadCountingAsync(unread, policy, readAt, cancellationToken);
            kept.AddRange(read.SelectMany(group => group.Select(v => new UserViolation(group.Key, v))));
        }

        return kept.ToLookup(v => v.UserId, v => v.Scored, StringComparer.Ordinal);
    }

    /// <summary>
    /// Leaves on each user's lock row the counting violations this write computed its score from, so the
    /// next write of the user need not read them (<see cref="CountingSnapshot"/>).
    /// </summary>
    private void KeepCounting(string[] users, Dictionary<string, UserScoreVersion> rows, Dictionary<string, ScoreState> states, DateTimeOffset now)
    {
        foreach (var user in users)
        {
            var row = rows[user];
            if (db.Entry(row).State == EntityState.Detached)
            {
                db.UserScoreVersions.Attach(row);
            }

            row.KeepCounting(CountingSnapshot.Encode(row.Version, now, policy.Version, states[user].Violations));
        }
    }

    /// <summary>
    /// The standing drops that happened by themselves since each due user's recorded standing, found before
    /// the change so that its violations do not count at those earlier instants; and where each standing
    /// stands now, before the change. A user whose standing was never recorded is recorded as it is,
    /// without an entry. <paramref name="before"/> holds what counted at the earliest instant looked at.
    /// </summary>
    private (List<StandingChange> Drops, Dictionary<string, StandingTimeline.Recorded> Standings) CatchUpStandings(
        string[] users, string[] due, ILookup<string, ScoredViolation>? before, Dictionary<string, UserScoreVersion> rows, DateTimeOffset now)
    {
        var drops = new List<StandingChange>();
        var standings = users.ToDictionary(user => user, user => rows[user].RecordedStanding, StringComparer.Ordinal);
        foreach (var user in due)
        {
            ScoredViolation[] violations = [.. before![user]];
            if (rows[user].Standing == Standing.Unspecified)
            {
                var score = ScoreCalculator.Compute(policy, violations, now);
                standings[user] = new StandingTimeline.Recorded(score.Standing, score.StandingImprovesAt);
                continue;
            }

            var (changes, after) = StandingTimeline.CatchUp(user, policy, violations, rows[user].RecordedStanding, now);
            drops.AddRange(changes);
            standings[user] = after;
        }

        return (drops, standings);
    }

    /// <summary>
    /// Writes the feed entries (the drops found before the change, then the change of standing the change
    /// made) and where each standing now stands, in this transaction. A user whose standing stayed and
    /// whose next drop only moved later keeps its row as it is: the scan then looks at it early, finds
    /// nothing dropped, and reschedules it, which costs less than moving the user's scheduled drop (its
    /// <c>standing_drops</c> row) on every record.
    /// </summary>
    private async Task<List<StandingChange>> RecordStandingsAsync(
        string[] users, Dictionary<string, UserScoreVersion> rows, Dictionary<string, Score> scores,
        List<StandingChange> drops, Dictionary<string, StandingTimeline.Recorded> standings, StandingChangeCause cause, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var feed = new List<StandingChange>(drops);
        foreach (var user in users)
        {
            var row = rows[user];
            var score = scores[user];
            var before = standings[user];
            var (changed, after) = StandingTimeline.After(user, score, before.Standing, cause);
            if (cause == StandingChangeCause.Erasure)
            {
                // Consumers drop what they hold about the user: the earlier entries go, one entry says so.
                await db.StandingChanges.Where(c => c.UserId == user).ExecuteDeleteAsync(cancellationToken);
                feed.RemoveAll(c => c.UserId == user);
                changed = new StandingChange(user, before.Standing, score.Standing, score.Points, score.Permanent, cause, now, policy.Version);
            }

            if (changed is not null)
            {
                feed.Add(changed);
            }

            var moved = after.Standing != row.Standing || after.DropsAt != row.StandingDropsAt;
            var onlyLater = after.Standing == row.Standing && row.StandingDropsAt is { } recorded && recorded > now && after.DropsAt > recorded
                && !feed.Exists(c => c.UserId == user);
            if (!moved || onlyLater)
            {
                continue;
            }

            if (db.Entry(row).State == EntityState.Detached)
            {
                db.UserScoreVersions.Attach(row);
            }

            // A row before the feed (standing never recorded) was put on the scan's list by the migration.
            var scheduled = row.StandingDropsAt is not null || row.Standing == Standing.Unspecified;
            row.Record(after);
            var drop = new StandingDrop { UserId = user, DueAt = after.DropsAt ?? now };
            if (after.DropsAt is null && scheduled)
            {
                db.StandingDrops.Remove(drop);
            }
            else if (after.DropsAt is not null && scheduled)
            {
                db.StandingDrops.Update(drop);
            }
            else if (after.DropsAt is not null)
            {
                db.StandingDrops.Add(drop);
            }
        }

        db.StandingChanges.AddRange(feed.Select(change => StandingChangeEntry.From(change, now)));
        rollup.StandingsChanged(feed, now);
        await db.WriteAddedAsync(cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return feed;
    }

    /// <summary>
    /// Tells the cache the committed state, all users at once (the Redis client pipelines them into one
    /// round trip). A write that fails leaves the user marked in the database, so a replica rewrites it
    /// once Redis answers; one that succeeds is acknowledged in the background.
    /// </summary>
    private async Task SyncCacheAsync(Dictionary<string, ScoreState> states)
    {
        // Not cancellable: the change is committed and the cache must learn about it.
        var writes = states.Select(async pair => (pair.Key, pair.Value.Version, Cached: await cache.SetAsync(pair.Key, pair.Value, CancellationToken.None)));
        foreach (var (userId, version, cached) in await Task.WhenAll(writes))
        {
            if (cached)
            {
                ledger.Acknowledge(userId, version);
            }
        }
    }

    private void AppendAudit(IReadOnlyList<(string UserId, AuditChange Change)> changes, Dictionary<string, UserScoreVersion> rows, DateTimeOffset now)
    {
        foreach (var (userId, change) in changes)
        {
            // Under the user's lock the head cannot move: each chain stays gap-free, and the lock row keeps it.
            var row = rows[userId];
            if (db.Entry(row).State == EntityState.Detached)
            {
                db.UserScoreVersions.Attach(row);
            }

            var entry = AuditEntry.Continue(row.AuditHead, change, ids.NewId(), userId, now, auditKeys.Current);
            row.ContinueAuditAt(entry);
            db.AuditEntries.Add(entry);
        }
    }
}

/// <summary>What a change hands back to <see cref="UserRecordWriter"/>: the instant it runs at and its audit entries.</summary>
public sealed class UserRecordChange(DateTimeOffset now, string? onlyUser, IReadOnlyDictionary<string, StandingTimeline.Recorded> standingsBefore)
{
    private readonly List<(string UserId, AuditChange Change)> _auditChanges = [];
    private readonly List<Violation> _recorded = [];

    public DateTimeOffset Now { get; } = now;

    public IReadOnlyList<(string UserId, AuditChange Change)> AuditChanges => _auditChanges;

    /// <summary>Where a user's standing stood before this change (drops that happened by themselves included).</summary>
    public StandingTimeline.Recorded StandingBefore(string userId) => standingsBefore[userId];

    /// <summary>Audits a change to the one user this write is for.</summary>
    public void Audit(AuditChange change) =>
        Audit(onlyUser ?? throw new InvalidOperationException("A write for several users must name the user of each audit entry."), change);

    public void Audit(string userId, AuditChange change) => _auditChanges.Add((userId, change));

    /// <summary>The violations this change records, for a write that scores from them without reading again.</summary>
    public IReadOnlyList<Violation> RecordedViolations => _recorded;

    /// <summary>Tells the writer about a violation this change records; the change adds it to the context itself.</summary>
    public void Recorded(Violation violation) => _recorded.Add(violation);

    /// <summary>What a change of standing this change makes is recorded as (unset: the change cannot move a standing).</summary>
    public StandingChangeCause Cause { get; set; }

    /// <summary>
    /// What the change records once each user's score after it is known, still in its transaction (a new
    /// violation keeps what it did to the account); unset for none.
    /// </summary>
    public Func<IReadOnlyDictionary<string, Score>, CancellationToken, Task>? Scored { get; set; }
}
