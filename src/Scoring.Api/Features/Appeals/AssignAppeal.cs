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
            (await db.AssignUnderLockAsync(change, command.AppealId, command.ReviewerId, onlyIfUnassigned: false, token))!, cancellationToken);
        return appeal;
    }
}

internal static class AppealAssignment
{
    /// <summary>
    /// Assigns the appeal to the reviewer, audited, inside the owner's <see cref="UserRecordWriter"/> change.
    /// With <paramref name="onlyIfUnassigned"/>, an appeal someone took meanwhile is left alone (null).
    /// </summary>
    public static async Task<Appeal?> AssignUnderLockAsync(
        this ScoringDbContext db, UserRecordChange change, string appealId, string reviewerId, bool onlyIfUnassigned, CancellationToken token)
    {
        var appeal = await db.FindAppealAsync(appealId, null, token);
        if (onlyIfUnassigned && (appeal.State != AppealState.Submitted || appeal.Assignee is not null))
        {
            return null;
        }

        var violation = await db.FindViolationAsync(appeal.ViolationId, null, token);
        var before = appeal.State;
        var reassigned = appeal.Assignee is not null;

        appeal.Assign(reviewerId, violation);
        change.Audit(new AuditChange(
            Actor: reviewerId,
            Action: AuditActions.AppealAssigned,
            TargetId: appeal.Id,
            Reason: reassigned ? "reassigned" : "assigned",
            BeforeState: AuditStates.Of(before),
            AfterState: AuditStates.Of(appeal.State)));
        return appeal;
    }
}
