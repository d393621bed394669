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
/// Checks every item as a single record would be checked, then sends all the valid ones through the
/// write pipeline together: each writer the batch's users belong to writes its part in one transaction
/// (one lock statement, one insert batch, one commit, one cache round trip), with the same duplicate rule
/// and error policy as single records.
/// </summary>
public sealed class RecordViolationsCommandHandler(
    ViolationWritePipeline pipeline,
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
            catch (Exception exception) when (exception is ValidationException or PermissionDeniedException)
            {
                results[i] = RecordViolationsItemResult.Failed(exception, timeProvider.GetUtcNow());
            }
        }

        if (accepted.Count == 0)
        {
            return results;
        }

        // An infrastructure failure fails the whole call, as it fails a single record.
        var recorded = await pipeline.RecordAsync([.. accepted.Select(a => a.Report)], cancellationToken);
        for (var a = 0; a < accepted.Count; a++)
        {
            var (violation, duplicate, error, at) = recorded.Outcomes[a];
            results[accepted[a].Index] = error is null
                ? new(violation, duplicate, at, null)
                : RecordViolationsItemResult.Failed(error, at);
        }

        return results;
    }
}
