using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;

namespace Scoring.Api.Features.Audit;

/// <summary>
/// The system audit chain: changes that belong to no user's record (each state change of a policy version),
/// chained and verified exactly like a user's chain, under the chain id <see cref="ChainId"/>. No lock row
/// is written for it, so it never counts as a user; two appends racing for one sequence number collide on
/// the chain's unique index and one of them is refused (ABORTED, to retry), so the chain stays gap-free.
/// </summary>
public static class SystemAudit
{
    /// <summary>Where a user id would be. It holds a space, which no user id may (<see cref="ValidationRules.UserId{T}"/>), so no user's chain can ever be it.</summary>
    public const string ChainId = "system chain";

    /// <summary>Adds <paramref name="change"/> to the chain in the context's unit of work (saved with it).</summary>
    public static async Task AppendSystemAuditAsync(
        this ScoringDbContext db, AuditChange change, IIdGenerator ids, AuditKeyring keys, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var pending = db.ChangeTracker.Entries<AuditEntry>().Select(e => e.Entity).Where(e => e.UserId == ChainId).MaxBy(e => e.Sequence);
        var head = pending ?? await db.AuditEntries.AsNoTracking()
            .Where(e => e.UserId == ChainId)
            .OrderByDescending(e => e.Sequence)
            .FirstOrDefaultAsync(cancellationToken);
        db.AuditEntries.Add(AuditEntry.Append(head, change, ids.NewId(), ChainId, at, keys.Current));
    }
}
