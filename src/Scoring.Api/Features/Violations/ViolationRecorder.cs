using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;
using Scoring.Domain.Reports;
using Scoring.Domain.Standings;

namespace Scoring.Api.Features.Violations;

/// <summary>
/// What recording one checked report came to: the violation (new, or the original of a replay) or a
/// conflict, and the instant of the transaction that wrote or looked it up.
/// </summary>
public sealed record RecordOutcome(Violation Violation, bool Duplicate, Exception? Error, DateTimeOffset At);

/// <summary>Outcomes in report order, and each user's score after the write.</summary>
public sealed record RecordedGroup(RecordOutcome[] Outcomes, IReadOnlyDictionary<string, Score> Scores);

/// <summary>
/// Writes a group of checked reports (a batch, single records arriving together, or both) in one
/// transaction: look up which events are already recorded (before the users' locks, so the lookup does
/// not lengthen them), lock the group's users, insert the rest with their audit entries, commit. Every report keeps the single record's meaning: a known event with
/// the same payload is a replay, with a different payload a conflict, and a repeat within the group
/// replays its first occurrence. Once committed, each violation recorded for the first time is counted
/// (<see cref="ScoringMetrics.ViolationRecorded"/>); replays and conflicts are not.
/// </summary>
public sealed class ViolationRecorder(
    ScoringDbContext db, UserRecordWriter writer, ScoringPolicy policy, IIdGenerator ids, ScoringMetrics metrics, Reports.ReportRollup rollup)
{
    /// <summary>
    /// How often a group is written again after losing an insert race: another transaction inserted one of
    /// its events between the lookup and the insert (a client's retry racing its first attempt, or the same
    /// event reported for two users at once). The next attempts look up under the users' locks, as the
    /// first does not, so for one user the lock orders them and only the cross-user race can recur.
    /// </summary>
    private const int Attempts = 3;

    public async Task<RecordedGroup> RecordAsync(IReadOnlyList<ViolationReport> reports, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var recorded = await RecordOnceAsync(reports, lookUpUnderLocks: attempt > 1, cancellationToken);
                foreach (var outcome in recorded.Outcomes)
                {
                    if (!outcome.Duplicate && outcome.Error is null)
                    {
                        metrics.ViolationRecorded(outcome.Violation);
                    }
                }

                return recorded;
            }
            catch (Exception exception) when (attempt < Attempts && DatabaseErrors.IsDuplicateEvent(exception))
            {
                // Another transaction inserted one of these events after this one looked. The whole group
                // goes again (one more transaction, not one per report); this time the lookup sees it.
            }
        }
    }

    private async Task<RecordedGroup> RecordOnceAsync(IReadOnlyList<ViolationReport> reports, bool lookUpUnderLocks, CancellationToken cancellationToken)
    {
        var users = reports.Select(r => r.UserId).ToHashSet(StringComparer.Ordinal);
        // Looked up before the users' locks, so the lookup does not lengthen them. An event another writer
        // records meanwhile makes the insert fail on the unique index, and the group goes again (RecordAsync),
        // looking up under the locks then.
        var recordedBefore = lookUpUnderLocks ? null : await LoadRecordedAsync(reports, cancellationToken);
        var (outcomes, _, scores) = await writer.WriteManyAsync(users, async (change, token) =>
        {
            change.Cause = StandingChangeCause.ViolationRecorded;
            // A copy: the writer may run the change twice (see UserRecordWriter.WriteManyAsync).
            var known = recordedBefore is null
                ? await LoadRecordedAsync(reports, token)
                : new Dictionary<(string Source, string EventId), Violation>(recordedBefore);
            var outcomes = new RecordOutcome[reports.Count];
            for (var i = 0; i < reports.Count; i++)
            {
                var report = reports[i];
                if (known.TryGetValue((report.Source, report.EventId), out var original))
                {
                    outcomes[i] = new(original, true, original.IsSameReport(report) ? null : Conflict(report), change.Now);
                    continue;
                }

                // Its account decision is set once the scores after the write are known (RecordAccountDecisions).
                var violation = Violation.Record(report, policy, ids.NewId(), change.Now);
                db.Violations.Add(violation);
                change.Recorded(violation);
                change.Audit(violation.UserId, AuditOf(violation));
                known[(report.Source, report.EventId)] = violation;
                outcomes[i] = new(violation, false, null, change.Now);
            }

            var recorded = outcomes.Where(o => !o.Duplicate).Select(o => o.Violation).ToArray();
            rollup.ViolationsRecorded(recorded, change.Now);
            change.Scored = (scores, _) =>
            {
                RecordAccountDecisions(recorded, scores);
                return Task.CompletedTask;
            };
            return outcomes;
        }, cancellationToken, onlyRecords: true);
        return new RecordedGroup(outcomes, scores);
    }

    /// <summary>
    /// Keeps on each new violation what its recording did to the account (its statement of reasons says so
    /// later, whatever comes after): the decision the score after the write reached, which a new violation
    /// can only keep or raise. The scores are known before anything is written, so this costs no statement.
    /// </summary>
    private static void RecordAccountDecisions(Violation[] recorded, IReadOnlyDictionary<string, Score> scores)
    {
        foreach (var violation in recorded)
        {
            violation.RecordAccountDecision(AccountDecisions.Of(scores[violation.UserId]));
        }
    }

    /// <summary>The events among the reports that are already recorded, by (source, event id).</summary>
    private async Task<Dictionary<(string Source, string EventId), Violation>> LoadRecordedAsync(
        IReadOnlyList<ViolationReport> reports, CancellationToken cancellationToken)
    {
        var keys = reports.Select(r => (r.Source, r.EventId)).Distinct().ToArray();
        var known = await db.LoadRecordedAsync(keys, cancellationToken);
        return known.ToDictionary(v => (v.Source, v.EventId));
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
