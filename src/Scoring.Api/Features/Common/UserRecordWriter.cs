using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Scores;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;

namespace Scoring.Api.Features.Common;

/// <summary>
/// Every change to a user's record goes through here, as one transaction: take the users' locks, apply
/// the change, append its audit entries to each user's chain, read what the scores need, commit. Then
/// the cache learns the new state. Writers of one user queue on the lock, so checks made inside the
/// change see every earlier commit and cannot race.
/// </summary>
public sealed class UserRecordWriter(
    ScoringDbContext db, ScoreReader scores, IScoreCache cache, ScoringPolicy policy, IIdGenerator ids, TimeProvider timeProvider, AuditKeyring auditKeys)
{
    /// <summary>Runs <paramref name="change"/> for <paramref name="userId"/> and returns its result with the score after it.</summary>
    /// <param name="forget">An erasure: afterwards the cache forgets the user instead of learning the new state.</param>
    public async Task<(T Result, Score Score)> WriteAsync<T>(
        string userId, Func<UserRecordChange, CancellationToken, Task<T>> change, CancellationToken cancellationToken, bool forget = false)
    {
        var (result, at, states) = await WriteManyAsync([userId], change, cancellationToken, forget);
        return (result, ScoreCalculator.Compute(policy, states[userId].Violations, at));
    }

    /// <summary>
    /// Runs <paramref name="change"/> for several users in one transaction (a batch costs one commit, not
    /// one per user) and returns its result, the instant it ran at, and each user's score state after it
    /// (scores are left to callers that need them: computing one costs more than caching it).
    /// </summary>
    public async Task<(T Result, DateTimeOffset At, IReadOnlyDictionary<string, ScoreState> States)> WriteManyAsync<T>(
        IReadOnlyCollection<string> userIds, Func<UserRecordChange, CancellationToken, Task<T>> change, CancellationToken cancellationToken, bool forget = false)
    {
        // One order for every writer, so two batches sharing users cannot deadlock on their locks.
        var users = userIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var now = timeProvider.GetUtcNow();
        T result;
        Dictionary<string, ScoreState> states;
        try
        {
            // A failed SaveChanges rolls the whole transaction back, so savepoints would only cost round trips.
            db.Database.AutoSavepointsEnabled = false;
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var versions = await db.LockNextScoreVersionsAsync(users, cancellationToken);

            var record = new UserRecordChange(now, users.Length == 1 ? users[0] : null);
            result = await change(record, cancellationToken);
            await AppendAuditAsync(record.AuditChanges, now, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);

            var counting = await db.LoadCountingAsync(users, policy, now, cancellationToken);
            states = users.ToDictionary(user => user, user => new ScoreState(versions[user], policy.Version, [.. counting[user]]), StringComparer.Ordinal);

            // Acknowledged only after this commit, so an acknowledged change survives a crash.
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            db.ChangeTracker.Clear();
        }

        if (forget)
        {
            await Task.WhenAll(users.Select(user => cache.RemoveAsync(user, CancellationToken.None).AsTask()));
        }
        else
        {
            // All at once: the Redis client pipelines them into one round trip.
            await Task.WhenAll(states.Select(pair => scores.CacheAsync(pair.Key, pair.Value).AsTask()));
        }

        return (result, now, states);
    }

    private async Task AppendAuditAsync(IReadOnlyList<(string UserId, AuditChange Change)> changes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (changes.Count == 0)
        {
            return;
        }

        // Under the users' locks, their last entries cannot move: each chain stays gap-free.
        var heads = await db.LoadAuditHeadsAsync([.. changes.Select(c => c.UserId).Distinct(StringComparer.Ordinal)], cancellationToken);
        foreach (var (userId, change) in changes)
        {
            var entry = AuditEntry.Append(heads.GetValueOrDefault(userId), change, ids.NewId(), userId, now, auditKeys.Current);
            heads[userId] = entry;
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
