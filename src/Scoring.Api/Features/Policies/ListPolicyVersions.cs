using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>Every stored version of the policy, newest first, one keyset page at a time.</summary>
public sealed record ListPolicyVersionsQuery(int PageSize, string? PageToken) : IQuery<PolicyVersionPage>;

/// <param name="NextPageToken">Null on the last page.</param>
public sealed record PolicyVersionPage(IReadOnlyList<PolicyVersion> Versions, string? NextPageToken);

public sealed class ListPolicyVersionsQueryValidator : AbstractValidator<ListPolicyVersionsQuery>
{
    public ListPolicyVersionsQueryValidator()
    {
        RuleFor(q => q.PageSize).PageSize();
        RuleFor(q => q.PageToken).PageToken();
    }
}

public sealed class ListPolicyVersionsQueryHandler(ScoringDbContext db) : IQueryHandler<ListPolicyVersionsQuery, PolicyVersionPage>
{
    public async ValueTask<PolicyVersionPage> Handle(ListPolicyVersionsQuery query, CancellationToken cancellationToken)
    {
        var versions = db.PolicyVersions.AsNoTracking();
        if (Paging.TryContinueAfter(query.PageToken, out var after))
        {
            var afterAt = new DateTimeOffset(after.Position, TimeSpan.Zero);
            versions = versions.Where(v => v.CreatedAt < afterAt || (v.CreatedAt == afterAt && string.Compare(v.Version, after.Id) < 0));
        }

        var (page, next) = await versions
            .OrderByDescending(v => v.CreatedAt).ThenByDescending(v => v.Version)
            .ReadPageAsync(query.PageSize, v => new PageCursor(v.CreatedAt.UtcTicks, v.Version), cancellationToken);
        return new PolicyVersionPage(page, next);
    }
}
