using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Scores;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;

namespace Scoring.Api.Features.Common;

/// <summary>
/// Every change to a user's record goes through here, as one transaction: take the user's lock, apply
/// the change, append its audit entries to the user's chain, read what the score needs, commit. Then
/// the cache learns the new state. Writers of one user queue on the lock, so checks made inside the
/// change see every earlier commit and cannot race.
/// </summary>
public sealed class UserRecordWriter(
    ScoringDbContext db, ScoreReader scores, IScoreCache cache, ScoringPolicy policy, IIdGenerator ids, TimeProvider timeProvider)
{
    /// <summary>Runs <paramref name="change"/> for <paramref name="userId"/> and returns its result with the score after it.</summary>
    /// <param name="forget">An erasure: afterwards the cache forgets the user instead of learning the new state.</param>
    public async Task<(T Result, Score Score)> WriteAsync<T>(
        string userId, Func<UserRecordChange, CancellationToken, Task<T>> change, CancellationToken cancellationToken, bool forget = false)
    {
        var now = timeProvider.GetUtcNow();
        T result;
        ScoreState state;
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var version = await db.LockNextScoreVersionAsync(userId, cancellationToken);

            var record = new UserRecordChange(now);
            result = await change(record, cancellationToken);
            await AppendAuditAsync(userId, record.AuditChanges, now, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);

            state = new ScoreState(version, policy.Version, await db.LoadCountingAsync(userId, policy, now, cancellationToken));

            // Acknowledged only after this commit, so an acknowledged change survives a crash.
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            db.ChangeTracker.Clear();
        }

        if (forget)
        {
            await cache.RemoveAsync(userId, CancellationToken.None);
        }
        else
        {
            await scores.CacheAsync(userId, state);
        }

        return (result, ScoreCalculator.Compute(policy, state.Violations, now));
    }

    private async Task AppendAuditAsync(string userId, IReadOnlyList<AuditChange> changes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (changes.Count == 0)
        {
            return;
        }

        // Under the user's lock, the last entry cannot move: the chain stays gap-free.
        var previous = await db.AuditEntries.AsNoTracking()
            .Where(e => e.UserId == userId)
            .OrderByDescending(e => e.Sequence)
            .FirstOrDefaultAsync(cancellationToken);
        foreach (var change in changes)
        {
            previous = AuditEntry.Append(previous, change, ids.NewId(), userId, now);
            db.AuditEntries.Add(previous);
        }
    }
}

/// <summary>What a change hands back to <see cref="UserRecordWriter"/>: the instant it runs at and its audit entries.</summary>
public sealed class UserRecordChange(DateTimeOffset now)
{
    private readonly List<AuditChange> _auditChanges = [];

    public DateTimeOffset Now { get; } = now;

    public IReadOnlyList<AuditChange> AuditChanges => _auditChanges;

    public void Audit(AuditChange change) => _auditChanges.Add(change);
}
