using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Security;
using Scoring.Domain.Appeals;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Appeals;

/// <summary>A user contests one of their violations.</summary>
public sealed record SubmitAppealCommand(string ViolationId, string UserId, string Statement, string? RequestId) : ICommand<Appeal>;

public sealed class SubmitAppealCommandValidator : AbstractValidator<SubmitAppealCommand>
{
    public SubmitAppealCommandValidator()
    {
        RuleFor(c => c.ViolationId).Identifier(AppealLookups.MaxIdLength);
        RuleFor(c => c.UserId).UserId();
        RuleFor(c => c.Statement).Text(5000);
        RuleFor(c => c.RequestId).MaximumLength(128).WithMessage("{PropertyName} must be at most 128 characters");
    }
}

public sealed class SubmitAppealCommandHandler(
    ScoringDbContext db, UserRecordWriter writer, ScoringPolicy policy, IIdGenerator ids, Caller caller, ScoringMetrics metrics, Reports.ReportRollup rollup)
    : ICommandHandler<SubmitAppealCommand, Appeal>
{
    public async ValueTask<Appeal> Handle(SubmitAppealCommand command, CancellationToken cancellationToken)
    {
        // The appealed violation's category when this call opened the appeal; null when it replayed one.
        var ((appeal, opened), _) = await writer.WriteAsync(command.UserId, async (change, token) =>
        {
            if (!string.IsNullOrEmpty(command.RequestId)
                && await db.Appeals.AsNoTracking().SingleOrDefaultAsync(a => a.UserId == command.UserId && a.RequestId == command.RequestId, token) is { } repeated)
            {
                // Like a replayed report: the same key for another violation is a conflict, not a replay.
                return repeated.ViolationId == command.ViolationId
                    ? (repeated, (string?)null)
                    : throw new ConflictException($"request_id '{command.RequestId}' was already used for another appeal");
            }

            var violation = await db.FindViolationAsync(command.ViolationId, command.UserId, token);
            if (await db.Appeals.AnyAsync(a => a.ViolationId == violation.Id && a.State != AppealState.Withdrawn, token))
            {
                throw new ConflictException($"violation '{violation.Id}' already has an open or decided appeal");
            }

            var appeal = Appeal.Submit(violation, command.Statement, command.RequestId, ids.NewId(), policy, change.Now);
            db.Appeals.Add(appeal);
            rollup.AppealSubmitted(appeal, violation);
            change.Audit(new AuditChange(
                // The authenticated caller (the platform service acting for the user); the user without authentication.
                Actor: caller.ClientId ?? command.UserId,
                Action: AuditActions.AppealSubmitted,
                TargetId: appeal.Id,
                Reason: "user_appeal",
                AfterState: AuditStates.Of(appeal.State),
                BeforeSeverity: violation.Severity,
                AfterSeverity: violation.Severity,
                BeforePoints: violation.BasePoints,
                AfterPoints: violation.BasePoints));
            return (appeal, violation.Category);
        }, cancellationToken);

        // Committed: counted once, however often the request is replayed.
        if (opened is not null)
        {
            metrics.AppealSubmitted(opened);
        }

        return appeal;
    }
}
