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
        RuleForEach(q => q.States)
            .Must(s => s is >= AppealState.Submitted and <= AppealState.Withdrawn)
            .WithMessage("{PropertyName} must be an APPEAL_STATE other than UNSPECIFIED");
        RuleFor(q => q.Assignee!).Identifier(128).When(q => !string.IsNullOrEmpty(q.Assignee));
        RuleFor(q => q.UserId!).UserId().When(q => !string.IsNullOrEmpty(q.UserId));
        RuleFor(q => q.PageSize)
            .InclusiveBetween(0, PageCursor.MaxPageSize)
            .WithMessage($"{{PropertyName}} must be between 0 and {PageCursor.MaxPageSize} (0 means {PageCursor.DefaultPageSize})");
        RuleFor(q => q.PageToken)
            .Must(token => PageCursor.TryDecode(token, out _)).WithMessage("{PropertyName} is not a token this service issued")
            .When(q => !string.IsNullOrEmpty(q.PageToken));
    }
}

public sealed class ListAppealsQueryHandler(ScoringDbContext db, TimeProvider timeProvider) : IQueryHandler<ListAppealsQuery, AppealPage>
{
    private static readonly AppealState[] OpenStates = [AppealState.Submitted, AppealState.InReview];

    public async ValueTask<AppealPage> Handle(ListAppealsQuery query, CancellationToken cancellationToken)
    {
        var pageSize = query.PageSize == 0 ? PageCursor.DefaultPageSize : query.PageSize;
        var states = query.States.Count == 0 ? OpenStates : query.States.Distinct().ToArray();
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
            var now = timeProvider.GetUtcNow();
            appeals = appeals.Where(a => (a.State == AppealState.Submitted || a.State == AppealState.InReview) && a.DueAt < now);
        }

        if (!string.IsNullOrEmpty(query.PageToken) && PageCursor.TryDecode(query.PageToken, out var after))
        {
            var afterAt = new DateTimeOffset(after.Position, TimeSpan.Zero);
            appeals = appeals.Where(a => a.SubmittedAt > afterAt || (a.SubmittedAt == afterAt && string.Compare(a.Id, after.Id) > 0));
        }

        // One extra row tells whether another page follows.
        var page = await appeals.OrderBy(a => a.SubmittedAt).ThenBy(a => a.Id).Take(pageSize + 1).ToListAsync(cancellationToken);
        if (page.Count <= pageSize)
        {
            return new AppealPage(page, null);
        }

        page.RemoveAt(pageSize);
        var last = page[^1];
        return new AppealPage(page, new PageCursor(last.SubmittedAt.UtcTicks, last.Id).Encode());
    }
}
