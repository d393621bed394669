using FluentValidation;
using Mediator;
using Scoring.Api.Security;
using Scoring.Domain;

namespace Scoring.Api.Features.Violations;

/// <summary>Records a batch; each item is validated and recorded on its own, so one bad item spoils nothing else.</summary>
public sealed record RecordViolationsCommand(IReadOnlyList<RecordViolationCommand> Violations) : ICommand<IReadOnlyList<RecordViolationsItemResult>>
{
    public const int MaxItems = 500;
}

/// <summary>Either the item's result or the client error that rejected it.</summary>
public sealed record RecordViolationsItemResult(RecordedViolation? Result, Exception? Error);

public sealed class RecordViolationsCommandValidator : AbstractValidator<RecordViolationsCommand>
{
    public RecordViolationsCommandValidator() =>
        RuleFor(c => c.Violations)
            .NotEmpty().WithMessage("{PropertyName} must hold at least one violation")
            .Must(v => v.Count <= RecordViolationsCommand.MaxItems).WithMessage($"{{PropertyName}} may hold at most {RecordViolationsCommand.MaxItems} violations");
}

public sealed class RecordViolationsCommandHandler(ISender sender) : ICommandHandler<RecordViolationsCommand, IReadOnlyList<RecordViolationsItemResult>>
{
    public async ValueTask<IReadOnlyList<RecordViolationsItemResult>> Handle(RecordViolationsCommand command, CancellationToken cancellationToken)
    {
        var results = new List<RecordViolationsItemResult>(command.Violations.Count);
        foreach (var item in command.Violations)
        {
            try
            {
                // Through the mediator, so every item passes the same validation as a single record.
                results.Add(new(await sender.Send(item, cancellationToken), null));
            }
            catch (Exception exception) when (exception is ValidationException or DomainException or PermissionDeniedException)
            {
                // A client mistake in this item; infrastructure failures still fail the whole call.
                results.Add(new(null, exception));
            }
        }

        return results;
    }
}
