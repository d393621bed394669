using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Security;
using Scoring.Domain.Appeals;

namespace Scoring.Api.Features.Appeals;

/// <summary>
/// "Start reviewing": the oldest appeal the reviewer already holds, else the oldest unassigned appeal they
/// may decide (not one whose violation they decided), which they take. Null when none is waiting. Two
/// reviewers asking at once never get the same one.
/// </summary>
public sealed record ClaimNextAppealCommand(string ReviewerId) : ICommand<Appeal?>, IClaimsReviewer;

public sealed class ClaimNextAppealCommandValidator : AbstractValidator<ClaimNextAppealCommand>
{
    public ClaimNextAppealCommandValidator() => RuleFor(c => c.ReviewerId).Identifier(128);
}

public sealed class ClaimNextAppealCommandHandler(ScoringDbContext db, UserRecordWriter writer) : ICommandHandler<ClaimNextAppealCommand, Appeal?>
{
    // Candidates read per round: enough that a few reviewers claiming at once still find one each.
    private const int Candidates = 8;

    public async ValueTask<Appeal?> Handle(ClaimNextAppealCommand command, CancellationToken cancellationToken)
    {
        // An appeal this reviewer already holds comes first: nothing is left stranded with them.
        var held = await db.Appeals.AsNoTracking()
            .Where(a => a.State == AppealState.InReview && a.Assignee == command.ReviewerId)
            .OrderBy(a => a.SubmittedAt).ThenBy(a => a.Id)
            .FirstOrDefaultAsync(cancellationToken);
        if (held is not null)
        {
            return held;
        }

        while (true)
        {
            var candidates = await db.Appeals.AsNoTracking()
                .Where(a => a.State == AppealState.Submitted && a.Assignee == null)
                .Join(db.Violations, a => a.ViolationId, v => v.Id, (a, v) => new { a.Id, a.UserId, a.SubmittedAt, v.DecidedBy })
                .Where(c => c.DecidedBy == null || c.DecidedBy != command.ReviewerId)
                .OrderBy(c => c.SubmittedAt).ThenBy(c => c.Id)
                .Take(Candidates)
                .Select(c => new { c.Id, c.UserId })
                .ToListAsync(cancellationToken);
            if (candidates.Count == 0)
            {
                return null;
            }

            foreach (var candidate in candidates)
            {
                // Under the owner's lock the appeal is read again: one another reviewer took meanwhile is skipped.
                var (claimed, _) = await writer.WriteAsync(candidate.UserId, (change, token) =>
                    db.AssignUnderLockAsync(change, candidate.Id, command.ReviewerId, onlyIfUnassigned: true, token), cancellationToken);
                if (claimed is not null)
                {
                    return claimed;
                }
            }
        }
    }
}
