using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;

namespace Scoring.Api.Features.Common;

/// <summary>
/// Every change to a user's record goes through here, as one transaction: lock the users (which also
/// marks their cache entries as possibly stale), take the time, apply the change, append its audit
/// entries to each user's chain, read what the scores need, commit. Then the cache learns the new state,
/// and only once it has does the mark go (later, in the background: <see cref="CacheSyncLedger"/>).
/// Writers of one user queue on the lock, so checks made inside the change see every earlier commit.
/// Nothing touches the database after the commit, and the context is used by one operation at a time.
/// </summary>
public sealed class UserRecordWriter(
    ScoringDbContext db, IScoreCache cache, CacheSyncLedger ledger, ScoringPolicy policy, IIdGenerator ids, TimeProvider timeProvider, AuditKeyring auditKeys)
{
    /// <summary>Runs <paramref name="change"/> for <paramref name="userId"/> and returns its result with the score after it.</summary>
    public async Task<(T Result, Score Score)> WriteAsync<T>(
        string userId, Func<UserRecordChange, CancellationToken, Task<T>> change, CancellationToken cancellationToken)
    {
        var (result, at, states) = await WriteManyAsync([userId], change, cancellationToken);
        return (result, ScoreCalculator.Compute(policy, states[userId].Violations, at));
    }

    /// <summary>
    /// Runs <paramref name="change"/> for several users in one transaction (a batch costs one commit, not
    /// one per user) and returns its result, the instant it ran at, and each user's score state after it
    /// (scores are left to callers that need them: computing one costs more than caching it).
    /// </summary>
    public async Task<(T Result, DateTimeOffset At, IReadOnlyDictionary<string, ScoreState> States)> WriteManyAsync<T>(
        IReadOnlyCollection<string> userIds, Func<UserRecordChange, CancellationToken, Task<T>> change, CancellationToken cancellationToken)
    {
        // One order for every writer, so two groups sharing users cannot deadlock on their locks.
        var users = userIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        try
        {
            return await WriteOnceAsync(users, change, cancellationToken);
        }
        catch (Exception exception) when (DatabaseErrors.IsAuditSequenceTaken(exception))
        {
            // A lock row's audit head lags its chain (a release before heads lived there appended or
            // erased after the upgrade's backfill). Read the heads from the chains and write once more.
            await db.RepairAuditHeadsAsync(users, cancellationToken);
            return await WriteOnceAsync(users, change, cancellationToken);
        }
    }

    private async Task<(T Result, DateTimeOffset At, IReadOnlyDictionary<string, ScoreState> States)> WriteOnceAsync<T>(
        string[] users, Func<UserRecordChange, CancellationToken, Task<T>> change, CancellationToken cancellationToken)
    {
        T result;
        DateTimeOffset now;
        Dictionary<string, ScoreState> states;
        try
        {
            // A failed SaveChanges rolls the whole transaction back, so savepoints would only cost round trips.
            db.Database.AutoSavepointsEnabled = false;
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var rows = await db.LockUsersAsync(users, markCache: ledger.Tracking, cancellationToken);

            // After the locks: a writer that waited for another must not stamp an earlier time than it.
            now = timeProvider.GetUtcNow();
            var record = new UserRecordChange(now, users.Length == 1 ? users[0] : null);
            result = await change(record, cancellationToken);
            AppendAudit(record.AuditChanges, rows, now);
            await db.WriteAddedAsync(cancellationToken);
            await db.SaveChangesAsync(cancellationToken);

            var counting = await db.LoadCountingAsync(users, policy, now, cancellationToken);
            states = users.ToDictionary(
                user => user, user => new ScoreState(rows[user].Version, policy.Version, [.. counting[user]]), StringComparer.Ordinal);

            // Acknowledged only after this commit, so an acknowledged change survives a crash.
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            db.ChangeTracker.Clear();
        }

        await SyncCacheAsync(states);
        return (result, now, states);
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
public sealed class UserRecordChange(DateTimeOffset now, string? onlyUser)
{
    private readonly List<(string UserId, AuditChange Change)> _auditChanges = [];

    public DateTimeOffset Now { get; } = now;

    public IReadOnlyList<(string UserId, AuditChange Change)> AuditChanges => _auditChanges;

    /// <summary>Audits a change to the one user this write is for.</summary>
    public void Audit(AuditChange change) =>
        Audit(onlyUser ?? throw new InvalidOperationException("A write for several users must name the user of each audit entry."), change);

    public void Audit(string userId, AuditChange change) => _auditChanges.Add((userId, change));
}
