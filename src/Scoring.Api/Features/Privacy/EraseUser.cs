using System.Text.RegularExpressions;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Security;
using Scoring.Domain.Audit;
using Scoring.Domain.Standings;

namespace Scoring.Api.Features.Privacy;

/// <summary>
/// Erases a user (GDPR Art. 17): violations, appeals and score state go, in the database and the cache
/// (which learns the empty state like any other change, so it never fails open when Redis is down).
/// The audit trail stays, as a legal record; it never held free text, and the erasure is added to it.
/// </summary>
public sealed record EraseUserCommand(string UserId, string Reason) : ICommand<Erasure>;

public sealed record Erasure(string UserId, int ViolationsErased, int AppealsErased, DateTimeOffset ErasedAt);

public sealed partial class EraseUserCommandValidator : AbstractValidator<EraseUserCommand>
{
    [GeneratedRegex("^[a-z0-9._:-]{1,64}$")]
    private static partial Regex ReasonCode();

    public EraseUserCommandValidator()
    {
        RuleFor(c => c.UserId).UserId();
        RuleFor(c => c.Reason).Matches(ReasonCode()).WithMessage("{PropertyName} must be a short code: 1-64 of [a-z0-9._:-]");
    }
}

public sealed class EraseUserCommandHandler(ScoringDbContext db, UserRecordWriter writer, Caller caller, Reports.ReportRollup rollup)
    : ICommandHandler<EraseUserCommand, Erasure>
{
    public async ValueTask<Erasure> Handle(EraseUserCommand command, CancellationToken cancellationToken)
    {
        var userId = command.UserId;
        var (erasure, _) = await writer.WriteAsync(userId, async (change, token) =>
        {
            change.Cause = StandingChangeCause.Erasure;
            await rollup.EndAppealsAsync(db.Appeals.Where(a => a.UserId == userId), change.Now, token);
            var appeals = await db.Appeals.Where(a => a.UserId == userId).ExecuteDeleteAsync(token);
            var violations = await db.Violations.Where(v => v.UserId == userId).ExecuteDeleteAsync(token);
            await rollup.UserErasedAsync(userId, violations + appeals, change.Now, token);
            // The lock row stays, holding no personal data: its version keeps growing, so the cache learns
            // the empty state as newer than anything it held, even from a snapshot restored later.

            change.Audit(new AuditChange(
                Actor: caller.ClientId ?? "anonymous",
                Action: AuditActions.UserErased,
                TargetId: userId,
                Reason: command.Reason,
                ItemCount: violations + appeals));
            return new Erasure(userId, violations, appeals, change.Now);
        }, cancellationToken);
        return erasure;
    }
}
