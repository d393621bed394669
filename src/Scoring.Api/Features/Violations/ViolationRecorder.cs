using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Features.Scores;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Violations;

/// <summary>What recording one checked report came to: the violation (new, or the original of a replay) or a conflict.</summary>
public sealed record RecordOutcome(Violation Violation, bool Duplicate, Exception? Error);

/// <summary>
/// Writes checked reports. Many at once in one transaction (a batch, or single records arriving
/// together, see <see cref="ViolationWriteQueue"/>), or one alone, where the unique (source, event_id)
/// index is the only judge of "already recorded".
/// </summary>
public sealed class ViolationRecorder(
    ScoringDbContext db, UserRecordWriter writer, ScoreReader scores, ScoringPolicy policy, IIdGenerator ids, TimeProvider timeProvider)
{
    /// <summary>
    /// Records the reports in one transaction, each with the single record's meaning: a known event with
    /// the same payload is a replay, with a different payload a conflict, and a repeat among the reports
    /// replays the first. Outcomes are in report order. Throws a unique-violation
    /// <see cref="DbUpdateException"/> if another call recorded one of the events meanwhile; the caller
    /// then records them one by one (<see cref="RecordOneAsync"/>).
    /// </summary>
    public async Task<(RecordOutcome[] Outcomes, DateTimeOffset At, IReadOnlyDictionary<string, ScoreState> States)> RecordAllAsync(
        IReadOnlyList<ViolationReport> reports, CancellationToken cancellationToken)
    {
        var users = reports.Select(r => r.UserId).ToHashSet(StringComparer.Ordinal);
        return await writer.WriteManyAsync(users, async (change, token) =>
        {
            var known = await LoadRecordedAsync(reports, token);
            var outcomes = new RecordOutcome[reports.Count];
            for (var i = 0; i < reports.Count; i++)
            {
                var report = reports[i];
                if (known.TryGetValue((report.Source, report.EventId), out var original))
                {
                    outcomes[i] = new(original, true, original.IsSameReport(report) ? null : Conflict(report));
                    continue;
                }

                var violation = Violation.Record(report, policy, ids.NewId(), change.Now);
                db.Violations.Add(violation);
                change.Audit(violation.UserId, AuditOf(violation));
                known[(report.Source, report.EventId)] = violation;
                outcomes[i] = new(violation, false, null);
            }

            return outcomes;
        }, cancellationToken);
    }

    /// <summary>Records one report in its own transaction; throws <see cref="ConflictException"/> for a conflicting retry.</summary>
    public async Task<RecordedViolation> RecordOneAsync(ViolationReport report, CancellationToken cancellationToken)
    {
        try
        {
            var (violation, score) = await writer.WriteAsync(report.UserId, (change, _) =>
            {
                var violation = Violation.Record(report, policy, ids.NewId(), change.Now);
                db.Violations.Add(violation);
                change.Audit(AuditOf(violation));
                return Task.FromResult(violation);
            }, cancellationToken);
            return new RecordedViolation(violation, score, Duplicate: false);
        }
        catch (DbUpdateException exception) when (DatabaseErrors.IsUniqueViolation(exception))
        {
            return await ReplayAsync(report, cancellationToken);
        }
    }

    private async Task<RecordedViolation> ReplayAsync(ViolationReport report, CancellationToken cancellationToken)
    {
        var original = await db.Violations.AsNoTracking()
            .SingleAsync(v => v.Source == report.Source && v.EventId == report.EventId, cancellationToken);

        if (!original.IsSameReport(report))
        {
            throw Conflict(report);
        }

        // A retry may follow a crash between the original commit and its cache write, so the
        // replay rewrites the cache from the database rather than trusting it.
        var refreshed = await scores.RefreshAsync([original.UserId], timeProvider.GetUtcNow(), cancellationToken);
        return new RecordedViolation(original, scores.Compute(refreshed[original.UserId].State), Duplicate: true);
    }

    /// <summary>The events among the reports that are already recorded, by (source, event id).</summary>
    private async Task<Dictionary<(string Source, string EventId), Violation>> LoadRecordedAsync(
        IReadOnlyList<ViolationReport> reports, CancellationToken cancellationToken)
    {
        var sources = reports.Select(r => r.Source).Distinct().ToArray();
        var eventIds = reports.Select(r => r.EventId).Distinct().ToArray();
        var candidates = await db.Violations.AsNoTracking()
            .Where(v => eventIds.Contains(v.EventId) && sources.Contains(v.Source))
            .ToListAsync(cancellationToken);
        var wanted = reports.Select(r => (r.Source, r.EventId)).ToHashSet();
        return candidates.Where(v => wanted.Contains((v.Source, v.EventId))).ToDictionary(v => (v.Source, v.EventId));
    }

    private static ConflictException Conflict(ViolationReport report) =>
        new($"event_id '{report.EventId}' from source '{report.Source}' was already recorded with a different payload");

    private static AuditChange AuditOf(Violation violation) => new(
        Actor: violation.Source,
        Action: AuditActions.ViolationRecorded,
        TargetId: violation.Id,
        Reason: violation.Category,
        AfterState: AuditStates.Of(violation.Status),
        AfterSeverity: violation.Severity,
        AfterPoints: violation.BasePoints);
}
