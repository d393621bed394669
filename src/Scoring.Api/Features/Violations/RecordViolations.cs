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
/// transaction (<see cref="ViolationRecorder.RecordAllAsync"/>): one lock statement, one insert batch,
/// one commit and one cache round trip for the batch.
/// </summary>
public sealed class RecordViolationsCommandHandler(
    ViolationRecorder recorder,
    Caller caller,
    IEnumerable<IValidator<RecordViolationCommand>> validators,
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
            var (outcomes, at, _) = await recorder.RecordAllAsync([.. accepted.Select(a => a.Report)], cancellationToken);
            for (var a = 0; a < accepted.Count; a++)
            {
                var (violation, duplicate, error) = outcomes[a];
                results[accepted[a].Index] = error is null ? new(violation, duplicate, at, null) : RecordViolationsItemResult.Failed(error, at);
            }
        }
        catch (DbUpdateException exception) when (DatabaseErrors.IsUniqueViolation(exception))
        {
            // Another call recorded one of these events after this one looked: item by item instead,
            // where the unique index decides each event on its own.
            foreach (var (index, report) in accepted)
            {
                results[index] = await RecordOneAsync(report, cancellationToken);
            }
        }

        return results;
    }

    private async Task<RecordViolationsItemResult> RecordOneAsync(ViolationReport report, CancellationToken cancellationToken)
    {
        try
        {
            var recorded = await recorder.RecordOneAsync(report, cancellationToken);
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
