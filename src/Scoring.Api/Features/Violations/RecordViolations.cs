using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Security;
using Scoring.Domain;
using Scoring.Domain.Policies;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Violations;

/// <summary>Records a batch; each item is checked on its own, so one bad item spoils nothing else.</summary>
public sealed record RecordViolationsCommand(IReadOnlyList<RecordViolationCommand> Violations) : ICommand<IReadOnlyList<RecordViolationsItemResult>>
{
    public const int MaxItems = 500;
}

/// <summary>Either the item's violation (new, or the original of a replay) as of <c>At</c>, or the client error that rejected it.</summary>
public sealed record RecordViolationsItemResult(Violation? Violation, bool Duplicate, DateTimeOffset At, Exception? Error)
{
    public static RecordViolationsItemResult Failed(Exception error, DateTimeOffset at) => new(null, false, at, error);
}

public sealed class RecordViolationsCommandValidator : AbstractValidator<RecordViolationsCommand>
{
    public RecordViolationsCommandValidator() =>
        RuleFor(c => c.Violations)
            .NotEmpty().WithMessage("{PropertyName} must hold at least one violation")
            .Must(v => v.Count <= RecordViolationsCommand.MaxItems).WithMessage($"{{PropertyName}} may hold at most {RecordViolationsCommand.MaxItems} violations");
}

/// <summary>
/// Checks every item as a single record would be checked, then records all the valid ones in one
/// transaction: one lock statement, one insert batch, one commit and one cache round trip for the batch.
/// Each item keeps the single record's semantics: a known event with the same payload is a replay, with
/// a different payload a conflict, and a repeat inside the batch replays the first.
/// </summary>
public sealed class RecordViolationsCommandHandler(
    ScoringDbContext db,
    UserRecordWriter writer,
    ScoringPolicy policy,
    IIdGenerator ids,
    Caller caller,
    IEnumerable<IValidator<RecordViolationCommand>> validators,
    ISender sender,
    TimeProvider timeProvider) : ICommandHandler<RecordViolationsCommand, IReadOnlyList<RecordViolationsItemResult>>
{
    public async ValueTask<IReadOnlyList<RecordViolationsItemResult>> Handle(RecordViolationsCommand command, CancellationToken cancellationToken)
    {
        var results = new RecordViolationsItemResult[command.Violations.Count];
        var accepted = new List<(int Index, ViolationReport Report)>(command.Violations.Count);
        for (var i = 0; i < command.Violations.Count; i++)
        {
            var item = command.Violations[i];
            try
            {
                // The checks the pipeline runs for a single record.
                CallerBinding.Check(caller, item);
                await Validation.EnsureValidAsync(validators, item, cancellationToken);

                accepted.Add((i, item.ToReport()));
            }
            catch (Exception exception) when (IsClientError(exception))
            {
                results[i] = RecordViolationsItemResult.Failed(exception, timeProvider.GetUtcNow());
            }
        }

        if (accepted.Count == 0)
        {
            return results;
        }

        try
        {
            await RecordAllAsync(accepted, results, cancellationToken);
        }
        catch (DbUpdateException exception) when (DatabaseErrors.IsUniqueViolation(exception))
        {
            // Another call recorded one of these events after this one looked: item by item instead,
            // where the unique index decides each event on its own.
            foreach (var (index, _) in accepted)
            {
                results[index] = await RecordOneAsync(command.Violations[index], cancellationToken);
            }
        }

        return results;
    }

    private async Task RecordAllAsync(List<(int Index, ViolationReport Report)> accepted, RecordViolationsItemResult[] results, CancellationToken cancellationToken)
    {
        var users = accepted.Select(a => a.Report.UserId).ToHashSet(StringComparer.Ordinal);
        var (outcomes, at, _) = await writer.WriteManyAsync(users, async (change, token) =>
        {
            var known = await LoadRecordedAsync(accepted, token);
            var outcomes = new List<(int Index, Violation Violation, bool Duplicate, Exception? Error)>(accepted.Count);
            foreach (var (index, report) in accepted)
            {
                if (known.TryGetValue((report.Source, report.EventId), out var original))
                {
                    outcomes.Add((index, original, true, original.IsSameReport(report) ? null : RecordViolationCommandHandler.Conflict(report)));
                    continue;
                }

                var violation = Violation.Record(report, policy, ids.NewId(), change.Now);
                db.Violations.Add(violation);
                change.Audit(violation.UserId, RecordViolationCommandHandler.AuditOf(violation));
                known[(report.Source, report.EventId)] = violation;
                outcomes.Add((index, violation, false, null));
            }

            return outcomes;
        }, cancellationToken);

        foreach (var (index, violation, duplicate, error) in outcomes)
        {
            results[index] = error is null ? new(violation, duplicate, at, null) : RecordViolationsItemResult.Failed(error, at);
        }
    }

    /// <summary>The events of this batch that are already recorded, by (source, event id).</summary>
    private async Task<Dictionary<(string Source, string EventId), Violation>> LoadRecordedAsync(
        List<(int Index, ViolationReport Report)> accepted, CancellationToken cancellationToken)
    {
        var sources = accepted.Select(a => a.Report.Source).Distinct().ToArray();
        var eventIds = accepted.Select(a => a.Report.EventId).Distinct().ToArray();
        var candidates = await db.Violations.AsNoTracking()
            .Where(v => eventIds.Contains(v.EventId) && sources.Contains(v.Source))
            .ToListAsync(cancellationToken);
        var wanted = accepted.Select(a => (a.Report.Source, a.Report.EventId)).ToHashSet();
        return candidates.Where(v => wanted.Contains((v.Source, v.EventId))).ToDictionary(v => (v.Source, v.EventId));
    }

    private async Task<RecordViolationsItemResult> RecordOneAsync(RecordViolationCommand item, CancellationToken cancellationToken)
    {
        try
        {
            var recorded = await sender.Send(item, cancellationToken);
            return new(recorded.Violation, recorded.Duplicate, recorded.Score.ComputedAt, null);
        }
        catch (Exception exception) when (IsClientError(exception))
        {
            return RecordViolationsItemResult.Failed(exception, timeProvider.GetUtcNow());
        }
    }

    /// <summary>A client mistake in one item; infrastructure failures still fail the whole call.</summary>
    private static bool IsClientError(Exception exception) =>
        exception is ValidationException or DomainException or PermissionDeniedException;
}
