using FluentValidation;
using Mediator;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Security;
using Scoring.Domain.Appeals;
using Scoring.Domain.Audit;

namespace Scoring.Api.Features.Appeals;

/// <summary>The user withdraws an open appeal.</summary>
public sealed record WithdrawAppealCommand(string AppealId, string UserId) : ICommand<Appeal>;

public sealed class WithdrawAppealCommandValidator : AbstractValidator<WithdrawAppealCommand>
{
    public WithdrawAppealCommandValidator()
    {
        RuleFor(c => c.AppealId).Identifier(AppealLookups.MaxIdLength);
        RuleFor(c => c.UserId).UserId();
    }
}

public sealed class WithdrawAppealCommandHandler(ScoringDbContext db, UserRecordWriter writer, Caller caller, Reports.ReportRollup rollup) : ICommandHandler<WithdrawAppealCommand, Appeal>
{
    public async ValueTask<Appeal> Handle(WithdrawAppealCommand command, CancellationToken cancellationToken)
    {
        // Locking on the caller's own record: another user's appeal is simply not found there.
        var (appeal, _) = await writer.WriteAsync(command.UserId, async (change, token) =>
        {
            var appeal = await db.FindAppealAsync(command.AppealId, command.UserId, token);
            var violation = await db.FindViolationAsync(appeal.ViolationId, null, token);
            var before = appeal.State;

            appeal.Withdraw(violation, change.Now);
            await rollup.AppealClosedAsync(appeal, violation, token);
            change.Audit(new AuditChange(
                // The authenticated caller (the platform service acting for the user); the user without authentication.
                Actor: caller.ClientId ?? command.UserId,
                Action: AuditActions.AppealWithdrawn,
                TargetId: appeal.Id,
                Reason: "user_withdrawal",
                BeforeState: AuditStates.Of(before),
                AfterState: AuditStates.Of(appeal.State)));
            return appeal;
        }, cancellationToken);
        return appeal;
    }
}
