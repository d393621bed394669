using FluentValidation;
using Mediator;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Security;
using Scoring.Domain.Appeals;
using Scoring.Domain.Audit;

namespace Scoring.Api.Features.Appeals;

/// <summary>A reviewer takes an open appeal (SUBMITTED → IN_REVIEW), or it moves to another reviewer.</summary>
public sealed record AssignAppealCommand(string AppealId, string ReviewerId) : ICommand<Appeal>, IClaimsReviewer;

public sealed class AssignAppealCommandValidator : AbstractValidator<AssignAppealCommand>
{
    public AssignAppealCommandValidator()
    {
        RuleFor(c => c.AppealId).Identifier(AppealLookups.MaxIdLength);
        RuleFor(c => c.ReviewerId).Identifier(128);
    }
}

public sealed class AssignAppealCommandHandler(ScoringDbContext db, UserRecordWriter writer) : ICommandHandler<AssignAppealCommand, Appeal>
{
    public async ValueTask<Appeal> Handle(AssignAppealCommand command, CancellationToken cancellationToken)
    {
        var owner = await db.OwnerOfAppealAsync(command.AppealId, cancellationToken);
        var (appeal, _) = await writer.WriteAsync(owner, async (change, token) =>
        {
            var appeal = await db.FindAppealAsync(command.AppealId, null, token);
            var violation = await db.FindViolationAsync(appeal.ViolationId, null, token);
            var before = appeal.State;
            var reassigned = appeal.Assignee is not null;

            appeal.Assign(command.ReviewerId, violation);
            change.Audit(new AuditChange(
                Actor: command.ReviewerId,
                Action: AuditActions.AppealAssigned,
                TargetId: appeal.Id,
                Reason: reassigned ? "reassigned" : "assigned",
                BeforeState: AuditStates.Of(before),
                AfterState: AuditStates.Of(appeal.State)));
            return appeal;
        }, cancellationToken);
        return appeal;
    }
}
