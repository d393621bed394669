using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Appeals;
using Scoring.Domain.Reports;
using Scoring.Domain.Standings;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Reports;

/// <summary>
/// Keeps what transparency reports count, in the transaction of the write that made it (the write path
/// calls it like it appends audit entries), so a report reads day rollups instead of every row, and its
/// figures for a past period survive retention and erasure. Nothing here holds a user id for longer
/// than the user's own data does.
/// </summary>
public sealed class ReportRollup(ScoringDbContext db)
{
    /// <summary>New violations, one tally row per set of attributes (a batch of 500 adds a handful of rows).</summary>
    public void ViolationsRecorded(IEnumerable<Violation> violations, DateTimeOffset now)
    {
        var day = ReportPeriod.DayOf(now);
        db.ReportTallies.AddRange(violations
            .GroupBy(v => (v.Category, v.ReportedSeverity, v.Automated, v.Source))
            .Select(g => new ReportTally
            {
                Day = day,
                Kind = ReportTallyKind.ViolationRecorded,
                Category = g.Key.Category,
                Severity = g.Key.ReportedSeverity,
                Automated = g.Key.Automated,
                Source = g.Key.Source,
                Count = g.LongCount(),
            }));
    }

    /// <summary>The entries into restrictive standings among a write's standing changes.</summary>
    public void StandingsChanged(IEnumerable<StandingChange> changes, DateTimeOffset now)
    {
        var day = ReportPeriod.DayOf(now);
        db.ReportStandingEntries.AddRange(changes
            .Where(c => TransparencyFigures.IsRestriction(c.PreviousStanding, c.Standing, c.Permanent))
            .Select(c => new ReportStandingEntry { UserKey = c.UserId, Standing = c.Standing, Permanent = c.Permanent, Day = day }));
    }

    public void AppealSubmitted(Appeal appeal, Violation violation) => db.AppealFacts.Add(AppealFact.Of(appeal, violation));

    /// <summary>An appeal decided or withdrawn. One submitted before the facts were kept gets its fact now.</summary>
    public async Task AppealClosedAsync(Appeal appeal, Violation violation, CancellationToken cancellationToken)
    {
        var fact = await db.AppealFacts.FindAsync([appeal.Id], cancellationToken);
        if (fact is null)
        {
            fact = AppealFact.Of(appeal, violation);
            db.AppealFacts.Add(fact);
        }

        fact.Follow(appeal);
    }

    /// <summary>
    /// Appeals about to be deleted (retention, erasure): one still open ends there, without a decision, and
    /// counts as withdrawn, so it does not stay "open" in every later report.
    /// </summary>
    public Task EndAppealsAsync(IQueryable<Appeal> appeals, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ids = appeals.Select(a => a.Id);
        return db.AppealFacts.Where(f => f.ClosedAt == null && ids.Contains(f.AppealId)).ExecuteUpdateAsync(
            f => f.SetProperty(x => x.State, AppealState.Withdrawn).SetProperty(x => x.ClosedAt, now), cancellationToken);
    }

    public void ViolationsPurged(int count, DateTimeOffset now)
    {
        if (count > 0)
        {
            db.ReportTallies.Add(new ReportTally { Day = ReportPeriod.DayOf(now), Kind = ReportTallyKind.ViolationPurged, Count = count });
        }
    }

    /// <summary>
    /// Counts the erasure when it deleted something (asking twice erases one user once), and keys the user's
    /// standing entries by a random key that links to nobody.
    /// </summary>
    public async Task UserErasedAsync(string userId, int recordsDeleted, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (recordsDeleted > 0)
        {
            db.ReportTallies.Add(new ReportTally { Day = ReportPeriod.DayOf(now), Kind = ReportTallyKind.UserErased, Count = 1 });
        }

        await ForgetUserAsync(userId, cancellationToken);
    }

    /// <summary>
    /// Keys the user's standing entries by one random key that links to nobody (the user's own data is gone:
    /// erased, or purged by retention), so distinct-user counts stay and the pseudonym does not.
    /// </summary>
    public Task ForgetUserAsync(string userId, CancellationToken cancellationToken)
    {
        var key = ReportStandingEntry.AnonymousKey();
        return db.ReportStandingEntries.Where(e => e.UserKey == userId).ExecuteUpdateAsync(e => e.SetProperty(x => x.UserKey, key), cancellationToken);
    }
}
