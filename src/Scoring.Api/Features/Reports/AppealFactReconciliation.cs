using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Appeals;
using Scoring.Domain.Reports;

namespace Scoring.Api.Features.Reports;

/// <summary>
/// Catches the appeal facts up with the appeals, for what a replica of an earlier release wrote beside this
/// one during an upgrade: an appeal it opened without a fact gets one, a fact it left open while it decided or
/// withdrew the appeal follows it. Every write of this release keeps them in step itself, so this finds
/// nothing in steady state.
/// </summary>
public sealed class AppealFactReconciliation(ScoringDbContext db)
{
    private const int Batch = 1000;

    /// <summary>Returns how many facts it added or closed.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var closed = await (
                from fact in db.AppealFacts
                where fact.ClosedAt == null
                join appeal in db.Appeals on fact.AppealId equals appeal.Id
                where appeal.State != AppealState.Submitted && appeal.State != AppealState.InReview
                orderby appeal.Id
                select new { fact, appeal })
            .Take(Batch)
            .ToListAsync(cancellationToken);
        foreach (var pair in closed)
        {
            pair.fact.Follow(pair.appeal);
        }

        var missing = await (
                from appeal in db.Appeals.AsNoTracking()
                where !db.AppealFacts.Any(f => f.AppealId == appeal.Id)
                join violation in db.Violations.AsNoTracking() on appeal.ViolationId equals violation.Id
                orderby appeal.Id
                select new { appeal, violation })
            .Take(Batch)
            .ToListAsync(cancellationToken);
        foreach (var pair in missing)
        {
            var fact = AppealFact.Of(pair.appeal, pair.violation);
            fact.Follow(pair.appeal);
            db.AppealFacts.Add(fact);
        }

        await db.SaveChangesAsync(cancellationToken);
        db.ChangeTracker.Clear();
        return closed.Count + missing.Count;
    }
}
