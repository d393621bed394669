using System.Data;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Scoring.Domain;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// A position in the feed of standing changes: the writing transaction's id, then the entry's sequence
/// (see <see cref="StandingChangeEntry"/>). Shown to clients as 32 hex digits, which sort as the positions do.
/// </summary>
public readonly record struct Revision(long TransactionId, long Sequence) : IComparable<Revision>
{
    public static readonly Revision Start = new(0, 0);

    public int CompareTo(Revision other) =>
        TransactionId != other.TransactionId ? TransactionId.CompareTo(other.TransactionId) : Sequence.CompareTo(other.Sequence);

    public static bool operator <(Revision left, Revision right) => left.CompareTo(right) < 0;

    public static bool operator >(Revision left, Revision right) => left.CompareTo(right) > 0;

    public static bool operator <=(Revision left, Revision right) => left.CompareTo(right) <= 0;

    public static bool operator >=(Revision left, Revision right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{TransactionId:x16}{Sequence:x16}";

    public static bool TryParse(string text, out Revision revision)
    {
        revision = Start;
        if (text.Length != 32
            || !long.TryParse(text.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var transaction)
            || !long.TryParse(text.AsSpan(16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var sequence)
            || transaction < 0 || sequence < 0)
        {
            return false;
        }

        revision = new Revision(transaction, sequence);
        return true;
    }

    public static Revision Of(StandingChangeEntry entry) => new(entry.TransactionId, entry.Sequence);
}

/// <summary>
/// A page of the feed, how far the feed is known complete (every entry at or below <see cref="Horizon"/> is
/// in this page or before), and how far retention had removed it (<see cref="Compacted"/>), all as of one snapshot.
/// </summary>
public sealed record FeedPage(IReadOnlyList<StandingChangeEntry> Entries, Revision Horizon, Revision Compacted)
{
    /// <summary>Whether entries after <paramref name="after"/> may have been removed by retention before this page was read.</summary>
    public bool LostAfter(Revision after) => after < Compacted;
}

/// <summary>The queries behind the feed of standing changes.</summary>
public static class StandingFeedQueries
{
    /// <summary>
    /// Entries after <paramref name="after"/> in revision order, only those no running transaction can
    /// still precede, with the horizon up to which the feed is complete, read in one snapshot. On
    /// PostgreSQL that is below the oldest transaction still running (whose entries, when it commits, sort
    /// after everything returned); on SQLite, with one writer at a time, everything committed.
    /// </summary>
    public static async Task<FeedPage> ReadFeedAsync(
        this ScoringDbContext db, Revision after, IReadOnlyCollection<string>? users, int limit, CancellationToken cancellationToken)
    {
        var ids = users is { Count: > 0 } ? users.ToArray() : null;
        await using var transaction = await db.Database.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        // In the same snapshot as the page: a purge committing in between cannot remove entries unnoticed.
        var compaction = await db.StandingFeedCompaction.AsNoTracking().SingleAsync(cancellationToken);
        List<StandingChangeEntry> entries;
        Revision horizon;
        if (db.IsPostgres)
        {
            var oldestRunning = await db.Database
                .SqlQueryRaw<long>("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint AS \"Value\"")
                .SingleAsync(cancellationToken);
            var query = db.StandingChanges.FromSql($"""
                SELECT * FROM standing_changes
                WHERE (transaction_id, sequence) > ({after.TransactionId}, {after.Sequence}) AND transaction_id < {oldestRunning}
                """);
            entries = await (ids is null ? query : query.Where(c => ids.Contains(c.UserId)))
                .OrderBy(c => c.TransactionId).ThenBy(c => c.Sequence).Take(limit)
                .AsNoTracking().ToListAsync(cancellationToken);
            horizon = new Revision(oldestRunning - 1, long.MaxValue);
        }
        else
        {
            var sequence = after.Sequence;
            var query = db.StandingChanges.Where(c => c.Sequence > sequence);
            entries = await (ids is null ? query : query.Where(c => ids.Contains(c.UserId)))
                .OrderBy(c => c.Sequence).Take(limit)
                .AsNoTracking().ToListAsync(cancellationToken);
            horizon = new Revision(0, await db.StandingChanges.MaxAsync(c => (long?)c.Sequence, cancellationToken) ?? 0);
        }

        // Read only: nothing to commit, and a rollback ends it as cheaply.
        await transaction.RollbackAsync(cancellationToken);
        return new FeedPage(entries, horizon, new Revision(compaction.TransactionId, compaction.Sequence));
    }

    /// <summary>
    /// Deletes up to <paramref name="batch"/> of the oldest entries recorded before <paramref name="cutoff"/>
    /// and moves the compaction mark past them, in one transaction; returns how many went.
    /// </summary>
    public static async Task<int> PurgeFeedAsync(this ScoringDbContext db, DateTimeOffset cutoff, int batch, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var old = await db.StandingChanges.AsNoTracking()
            .Where(c => c.RecordedAt < cutoff)
            .OrderBy(c => c.TransactionId).ThenBy(c => c.Sequence)
            .Take(batch)
            .Select(c => new { c.Sequence, c.TransactionId })
            .ToListAsync(cancellationToken);
        if (old.Count == 0)
        {
            return 0;
        }

        var sequences = old.Select(o => o.Sequence).ToArray();
        await db.StandingChanges.Where(c => sequences.Contains(c.Sequence)).ExecuteDeleteAsync(cancellationToken);
        var last = old.Select(o => new Revision(o.TransactionId, o.Sequence)).Max();
        var compaction = await db.StandingFeedCompaction.SingleAsync(cancellationToken);
        if (last > new Revision(compaction.TransactionId, compaction.Sequence))
        {
            compaction.TransactionId = last.TransactionId;
            compaction.Sequence = last.Sequence;
            await db.SaveChangesAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return old.Count;
    }

    /// <summary>
    /// When the first entry after <paramref name="after"/> in revision order was written (readable yet or
    /// not), or null when there is none: how long the next change to hand out has waited, including while a
    /// long transaction holds the horizon back.
    /// </summary>
    /// <remarks>
    /// One probe of the revision index, however long the feed. The minimum of <c>recorded_at</c> over the
    /// unread entries, as this was first written, was planned as a walk of the <c>recorded_at</c> index from
    /// the oldest entry, filtering by revision: it read the whole retained feed (a week of it by default)
    /// after every read of every replica.
    /// </remarks>
    public static Task<DateTimeOffset?> OldestUnreadAsync(this ScoringDbContext db, Revision after, CancellationToken cancellationToken)
    {
        var (transaction, sequence) = (after.TransactionId, after.Sequence);
        // A row comparison is one range of the revision index; the same condition spelt with OR was read
        // as a scan of the feed.
        // On SQLite every entry's transaction is 0: the sequence alone is the revision, one range of the key.
        var unread = db.IsPostgres
            ? db.StandingChanges.FromSql($"SELECT * FROM standing_changes WHERE (transaction_id, sequence) > ({transaction}, {sequence})")
                .OrderBy(c => c.TransactionId).ThenBy(c => c.Sequence)
            : db.StandingChanges.Where(c => c.Sequence > sequence).OrderBy(c => c.Sequence);
        return unread.AsNoTracking()
            .Select(c => (DateTimeOffset?)c.RecordedAt)
            .FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>Users whose recorded standing is due to drop by <paramref name="now"/>, earliest first.</summary>
    public static Task<List<string>> LoadDueDropsAsync(this ScoringDbContext db, DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        db.StandingDrops.AsNoTracking()
            .Where(d => d.DueAt <= now)
            .OrderBy(d => d.DueAt)
            .Take(limit)
            .Select(d => d.UserId)
            .ToListAsync(cancellationToken);

    /// <summary>Users per recorded standing (users never written are not counted).</summary>
    public static Task<Dictionary<Standing, long>> CountStandingsAsync(this ScoringDbContext db, CancellationToken cancellationToken) =>
        db.UserScoreVersions.AsNoTracking()
            .GroupBy(u => u.Standing)
            .Select(g => new { Standing = g.Key, Users = g.LongCount() })
            .ToDictionaryAsync(g => g.Standing, g => g.Users, cancellationToken);
}
