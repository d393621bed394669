using FluentValidation;
using Mediator;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;

namespace Scoring.Api.Features.Standings;

/// <summary>Changes after a revision (empty: from the oldest kept), oldest first, a page at a time.</summary>
public sealed record ListStandingChangesQuery(string? SinceRevision, IReadOnlyList<string> UserIds, int PageSize, string? PageToken)
    : IQuery<StandingChangePage>
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;
}

/// <summary>A page of changes; <see cref="Revision"/> is where to watch from after the last page.</summary>
public sealed record StandingChangePage(IReadOnlyList<FeedItem> Changes, string? NextPageToken, Revision Revision);

public sealed class ListStandingChangesQueryValidator : AbstractValidator<ListStandingChangesQuery>
{
    public ListStandingChangesQueryValidator()
    {
        RuleFor(q => q.SinceRevision).Revision();
        RuleFor(q => q.PageToken).Revision().WithMessage("page_token is not a token this service gave");
        RuleFor(q => q.UserIds).UserFilter();
        RuleForEach(q => q.UserIds).UserId();
        RuleFor(q => q.PageSize).InclusiveBetween(0, ListStandingChangesQuery.MaxPageSize)
            .WithMessage($"{{PropertyName}} must be between 0 and {ListStandingChangesQuery.MaxPageSize} (0 means {ListStandingChangesQuery.DefaultPageSize})");
    }
}

public sealed class ListStandingChangesQueryHandler(ScoringDbContext db) : IQueryHandler<ListStandingChangesQuery, StandingChangePage>
{
    public async ValueTask<StandingChangePage> Handle(ListStandingChangesQuery query, CancellationToken cancellationToken)
    {
        var since = Parse(query.SinceRevision);
        var after = string.IsNullOrEmpty(query.PageToken) ? since : Parse(query.PageToken);
        var size = query.PageSize == 0 ? ListStandingChangesQuery.DefaultPageSize : query.PageSize;
        var users = query.UserIds.Count > 0 ? query.UserIds : null;
        var page = await db.ReadFeedAsync(after, users, size, cancellationToken);
        // From the oldest kept is always answerable; from a revision (or a page token) retention passed is not.
        if (after > Revision.Start && page.LostAfter(after))
        {
            throw new FeedCompactedException(page.Compacted);
        }

        if (after > page.Horizon)
        {
            throw new RevisionAheadException(page.Horizon);
        }

        var changes = page.Entries.Select(e => new FeedItem(Revision.Of(e), e.ToChange())).ToList();
        if (changes.Count == size)
        {
            var last = changes[^1].Revision;
            return new StandingChangePage(changes, last.ToString(), last);
        }

        var reached = changes.Count > 0 && changes[^1].Revision > page.Horizon ? changes[^1].Revision : page.Horizon;
        return new StandingChangePage(changes, null, reached > after ? reached : after);
    }

    private static Revision Parse(string? text) =>
        string.IsNullOrEmpty(text) ? Revision.Start : Revision.TryParse(text, out var revision) ? revision : Revision.Start;
}
