using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Policies;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Violations;

/// <summary>A user's violations, newest occurred_at first, one keyset page at a time.</summary>
public sealed record ListViolationsQuery(string UserId, int PageSize, string? PageToken, bool IncludeInactive) : IQuery<ViolationPage>;

/// <param name="NextPageToken">Null on the last page.</param>
public sealed record ViolationPage(IReadOnlyList<Violation> Violations, string? NextPageToken);

public sealed class ListViolationsQueryValidator : AbstractValidator<ListViolationsQuery>
{
    public ListViolationsQueryValidator()
    {
        RuleFor(q => q.UserId).UserId();
        RuleFor(q => q.PageSize).PageSize();
        RuleFor(q => q.PageToken).PageToken();
    }
}

public sealed class ListViolationsQueryHandler(ScoringDbContext db, ScoringPolicy policy, TimeProvider timeProvider)
    : IQueryHandler<ListViolationsQuery, ViolationPage>
{
    public async ValueTask<ViolationPage> Handle(ListViolationsQuery query, CancellationToken cancellationToken)
    {
        var violations = db.Violations.AsNoTracking().Where(v => v.UserId == query.UserId);
        if (!query.IncludeInactive)
        {
            violations = violations.CountingAt(policy, timeProvider.GetUtcNow());
        }

        if (Paging.TryContinueAfter(query.PageToken, out var after))
        {
            var afterAt = new DateTimeOffset(after.Position, TimeSpan.Zero);
            violations = violations.Where(v => v.OccurredAt < afterAt
                || (v.OccurredAt == afterAt && string.Compare(v.Id, after.Id) < 0));
        }

        var (page, next) = await violations
            .OrderByDescending(v => v.OccurredAt).ThenByDescending(v => v.Id)
            .ReadPageAsync(query.PageSize, v => new PageCursor(v.OccurredAt.UtcTicks, v.Id), cancellationToken);
        return new ViolationPage(page, next);
    }
}
