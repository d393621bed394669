using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;

namespace Scoring.Api.Features.Audit;

/// <summary>Audit entries of a user's chain or about one target (a violation with its appeals, or an appeal), oldest first.</summary>
/// <param name="System">The system chain (<see cref="SystemAudit"/>) instead of a user's.</param>
public sealed record ListAuditEntriesQuery(string? UserId, string? TargetId, int PageSize, string? PageToken, bool System = false) : IQuery<AuditPage>;

/// <param name="NextPageToken">Null on the last page.</param>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, string? NextPageToken);

public sealed class ListAuditEntriesQueryValidator : AbstractValidator<ListAuditEntriesQuery>
{
    public ListAuditEntriesQueryValidator()
    {
        RuleFor(q => q.UserId)
            .Must((q, userId) => !string.IsNullOrEmpty(userId) || !string.IsNullOrEmpty(q.TargetId) || q.System)
            .WithMessage("user_id, target_id or system is required")
            .Must((q, userId) => string.IsNullOrEmpty(userId) || !q.System)
            .WithMessage("user_id must be empty with system: the system chain is nobody's");
        RuleFor(q => q.UserId!).UserId().When(q => !string.IsNullOrEmpty(q.UserId));
        RuleFor(q => q.TargetId!).Identifier(64).When(q => !string.IsNullOrEmpty(q.TargetId));
        RuleFor(q => q.PageSize).PageSize();
        RuleFor(q => q.PageToken).PageToken();
    }
}

public sealed class ListAuditEntriesQueryHandler(ScoringDbContext db) : IQueryHandler<ListAuditEntriesQuery, AuditPage>
{
    public async ValueTask<AuditPage> Handle(ListAuditEntriesQuery query, CancellationToken cancellationToken)
    {
        var entries = db.AuditEntries.AsNoTracking();
        var chainId = query.System ? SystemAudit.ChainId : query.UserId;
        if (!string.IsNullOrEmpty(chainId))
        {
            entries = entries.Where(e => e.UserId == chainId);
        }

        if (!string.IsNullOrEmpty(query.TargetId))
        {
            // A violation's story includes its appeals: their entries (the decision that overturned or
            // reduced it among them) are filed under the appeal's id.
            var targetId = query.TargetId;
            var appealsOfTarget = db.Appeals.Where(a => a.ViolationId == targetId).Select(a => a.Id);
            entries = entries.Where(e => e.TargetId == targetId || appealsOfTarget.Contains(e.TargetId));
        }

        // A violation and its appeals belong to one user, so within either filter (sequence, id) is chronological and unique.
        if (Paging.TryContinueAfter(query.PageToken, out var after))
        {
            entries = entries.Where(e => e.Sequence > after.Position || (e.Sequence == after.Position && string.Compare(e.Id, after.Id) > 0));
        }

        var (page, next) = await entries
            .OrderBy(e => e.Sequence).ThenBy(e => e.Id)
            .ReadPageAsync(query.PageSize, e => new PageCursor(e.Sequence, e.Id), cancellationToken);
        return new AuditPage(page, next);
    }
}
