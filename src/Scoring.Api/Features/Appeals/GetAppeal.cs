using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Appeals;

namespace Scoring.Api.Features.Appeals;

/// <summary>One appeal by id.</summary>
public sealed record GetAppealQuery(string AppealId) : IQuery<Appeal>;

public sealed class GetAppealQueryValidator : AbstractValidator<GetAppealQuery>
{
    public GetAppealQueryValidator() => RuleFor(q => q.AppealId).Identifier(AppealLookups.MaxIdLength);
}

public sealed class GetAppealQueryHandler(ScoringDbContext db) : IQueryHandler<GetAppealQuery, Appeal>
{
    public async ValueTask<Appeal> Handle(GetAppealQuery query, CancellationToken cancellationToken) =>
        await db.Appeals.AsNoTracking().SingleOrDefaultAsync(a => a.Id == query.AppealId, cancellationToken)
        ?? throw new NotFoundException($"appeal '{query.AppealId}' was not found");
}
