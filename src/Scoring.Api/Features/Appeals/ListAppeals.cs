using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Appeals;

namespace Scoring.Api.Features.Appeals;

/// <summary>The review queue: appeals matching the filters, oldest submitted_at first.</summary>
/// <param name="States">Empty means the open states, SUBMITTED and IN_REVIEW.</param>
public sealed record ListAppealsQuery(
    IReadOnlyList<AppealState> States, string? Assignee, string? UserId, bool OverdueOnly, int PageSize, string? PageToken)
    : IQuery<AppealPage>;

/// <param name="NextPageToken">Null on the last page.</param>
public sealed record AppealPage(IReadOnlyList<Appeal> Appeals, string? NextPageToken);

public sealed class ListAppealsQueryValidator : AbstractValidator<ListAppealsQuery>
{
    public ListAppealsQueryValidator()
    {
        RuleFor(q => q.States).Must(s => s.Count <= 6).WithMessage("{PropertyName} may name at most 6 states");
        RuleForEach(q => q.States)
            .Must(s => s is >= AppealState.Submitted and <= AppealState.Withdrawn)
            .WithMessage("{PropertyName} must be an APPEAL_STATE other than UNSPECIFIED");
        RuleFor(q => q.Assignee!).Identifier(128).When(q => !string.IsNullOrEmpty(q.Assignee));
        RuleFor(q => q.UserId!).UserId().When(q => !string.IsNullOrEmpty(q.UserId));
        RuleFor(q => q.PageSize).PageSize();
        RuleFor(q => q.PageToken).PageToken();
    }
}

public sealed class ListAppealsQueryHandler(ScoringDbContext db, TimeProvider timeProvider) : IQueryHandler<ListAppealsQuery, AppealPage>
{
    public async ValueTask<AppealPage> Handle(ListAppealsQuery query, CancellationToken cancellationToken)
    {
        var states = query.States.Count == 0 ? AppealStates.Open : query.States.Distinct().ToArray();
        var appeals = db.Appeals.AsNoTracking().Where(a => states.Contains(a.State));

        if (!string.IsNullOrEmpty(query.Assignee))
        {
            appeals = appeals.Where(a => a.Assignee == query.Assignee);
        }

        if (!string.IsNullOrEmpty(query.UserId))
        {
            appeals = appeals.Where(a => a.UserId == query.UserId);
        }

        if (query.OverdueOnly)
        {
            appeals = appeals.Where(Appeal.OverdueAt(timeProvider.GetUtcNow()));
        }

        if (Paging.TryContinueAfter(query.PageToken, out var after))
        {
            var afterAt = new DateTimeOffset(after.Position, TimeSpan.Zero);
            appeals = appeals.Where(a => a.SubmittedAt > afterAt || (a.SubmittedAt == afterAt && string.Compare(a.Id, after.Id) > 0));
        }

        var (page, next) = await appeals
            .OrderBy(a => a.SubmittedAt).ThenBy(a => a.Id)
            .ReadPageAsync(query.PageSize, a => new PageCursor(a.SubmittedAt.UtcTicks, a.Id), cancellationToken);
        return new AppealPage(page, next);
    }
}
