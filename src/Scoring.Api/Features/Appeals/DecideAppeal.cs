using FluentValidation;
using Mediator;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Security;
using Scoring.Domain;
using Scoring.Domain.Appeals;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using Severity = Scoring.Domain.Severity;
using Scoring.Domain.Standings;

namespace Scoring.Api.Features.Appeals;

/// <summary>A reviewer decides an appeal; the violation, the score and the cache change in the same call.</summary>
public sealed record DecideAppealCommand(string AppealId, string ReviewerId, AppealDecision Decision, Severity NewSeverity, string Rationale)
    : ICommand<DecidedAppeal>, IClaimsReviewer;

public sealed record DecidedAppeal(Appeal Appeal, Score Score);

public sealed class DecideAppealCommandValidator : AbstractValidator<DecideAppealCommand>
{
    public DecideAppealCommandValidator()
    {
        RuleFor(c => c.AppealId).Identifier(AppealLookups.MaxIdLength);
        RuleFor(c => c.ReviewerId).Identifier(128);
        RuleFor(c => c.Decision)
            .Must(d => d is AppealDecision.Uphold or AppealDecision.Overturn or AppealDecision.Reduce)
            .WithMessage("{PropertyName} must be one of APPEAL_DECISION_UPHOLD, APPEAL_DECISION_OVERTURN, APPEAL_DECISION_REDUCE");
        RuleFor(c => c.NewSeverity)
            .Must(s => s is >= Severity.Low and <= Severity.Critical)
            .WithMessage("{PropertyName} is required with APPEAL_DECISION_REDUCE")
            .When(c => c.Decision == AppealDecision.Reduce);
        RuleFor(c => c.NewSeverity)
            .Equal(Severity.Unspecified)
            .WithMessage("{PropertyName} is only for APPEAL_DECISION_REDUCE")
            .When(c => c.Decision != AppealDecision.Reduce);
        RuleFor(c => c.Rationale).Text(5000);
    }
}

public sealed class DecideAppealCommandHandler(ScoringDbContext db, UserRecordWriter writer, ScoringPolicy policy, ScoringMetrics metrics, Reports.ReportRollup rollup)
    : ICommandHandler<DecideAppealCommand, DecidedAppeal>
{
    public async ValueTask<DecidedAppeal> Handle(DecideAppealCommand command, CancellationToken cancellationToken)
    {
        var owner = await db.OwnerOfAppealAsync(command.AppealId, cancellationToken);
        var (appeal, score) = await writer.WriteAsync(owner, async (change, token) =>
        {
            change.Cause = StandingChangeCause.AppealDecided;
            // Read under the user's lock: of two reviewers deciding at once, the second sees the first's decision.
            var appeal = await db.FindAppealAsync(command.AppealId, null, token);
            var violation = await db.FindViolationAsync(appeal.ViolationId, null, token);
            var (beforeState, beforeSeverity, beforePoints) = (appeal.State, violation.Severity, violation.BasePoints);

            appeal.Decide(command.ReviewerId, command.Decision, command.NewSeverity, command.Rationale, violation, policy, change.Now);
            await rollup.AppealClosedAsync(appeal, violation, token);
            change.Audit(new AuditChange(
                Actor: command.ReviewerId,
                Action: AuditActions.AppealDecided,
                TargetId: appeal.Id,
                Reason: AuditStates.Of(command.Decision),
                BeforeState: AuditStates.Of(beforeState),
                AfterState: AuditStates.Of(appeal.State),
                BeforeSeverity: beforeSeverity,
                AfterSeverity: violation.Severity,
                BeforePoints: beforePoints,
                AfterPoints: violation.Status == Domain.Violations.ViolationStatus.Active ? violation.BasePoints : 0));
            return appeal;
        }, cancellationToken);

        // Committed (decisions are final, so a decision is never counted twice). Decide sets decided_at.
        if (appeal.DecidedAt is { } decidedAt)
        {
            metrics.AppealDecided(appeal.State, decidedAt - appeal.SubmittedAt);
        }

        return new DecidedAppeal(appeal, score);
    }
}
