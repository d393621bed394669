using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Policies;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Violations;

/// <summary>A user's violations, newest occurred_at first, one keyset page at a time.</summary>
public sealed record ListViolationsQuery(string UserId, int PageSize, string? PageToken, bool IncludeInactive) : IQuery<ViolationPage>
{
    public const int DefaultPageSize = PageCursor.DefaultPageSize;
    public const int MaxPageSize = PageCursor.MaxPageSize;
}

/// <param name="NextPageToken">Null on the last page.</param>
public sealed record ViolationPage(IReadOnlyList<Violation> Violations, string? NextPageToken);

public sealed class ListViolationsQueryValidator : AbstractValidator<ListViolationsQuery>
{
    public ListViolationsQueryValidator()
    {
        RuleFor(q => q.UserId).UserId();
        RuleFor(q => q.PageSize)
            .InclusiveBetween(0, ListViolationsQuery.MaxPageSize)
            .WithMessage($"{{PropertyName}} must be between 0 and {ListViolationsQuery.MaxPageSize} (0 means {ListViolationsQuery.DefaultPageSize})");
        RuleFor(q => q.PageToken)
            .Must(token => PageCursor.TryDecode(token, out _)).WithMessage("{PropertyName} is not a token this service issued")
            .When(q => !string.IsNullOrEmpty(q.PageToken));
    }
}

public sealed class ListViolationsQueryHandler(ScoringDbContext db, ScoringPolicy policy, TimeProvider timeProvider)
    : IQueryHandler<ListViolationsQuery, ViolationPage>
{
    public async ValueTask<ViolationPage> Handle(ListViolationsQuery query, CancellationToken cancellationToken)
    {
        var pageSize = query.PageSize == 0 ? ListViolationsQuery.DefaultPageSize : query.PageSize;
        var violations = db.Violations.AsNoTracking().Where(v => v.UserId == query.UserId);
        if (!query.IncludeInactive)
        {
            violations = violations.CountingAt(policy, timeProvider.GetUtcNow());
        }

        if (!string.IsNullOrEmpty(query.PageToken) && PageCursor.TryDecode(query.PageToken, out var after))
        {
            var afterAt = new DateTimeOffset(after.Position, TimeSpan.Zero);
            violations = violations.Where(v => v.OccurredAt < afterAt
                || (v.OccurredAt == afterAt && string.Compare(v.Id, after.Id) < 0));
        }

        // One extra row tells whether another page follows.
        var page = await violations
            .OrderByDescending(v => v.OccurredAt).ThenByDescending(v => v.Id)
            .Take(pageSize + 1)
            .ToListAsync(cancellationToken);

        if (page.Count <= pageSize)
        {
            return new ViolationPage(page, null);
        }

        page.RemoveAt(pageSize);
        var last = page[^1];
        return new ViolationPage(page, new PageCursor(last.OccurredAt.UtcTicks, last.Id).Encode());
    }
}
