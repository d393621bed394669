using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Violations;

/// <summary>One violation by id, whatever its age or status.</summary>
public sealed record GetViolationQuery(string ViolationId) : IQuery<Violation>;

public sealed class GetViolationQueryValidator : AbstractValidator<GetViolationQuery>
{
    public GetViolationQueryValidator() => RuleFor(q => q.ViolationId).Identifier(64);
}

public sealed class GetViolationQueryHandler(ScoringDbContext db) : IQueryHandler<GetViolationQuery, Violation>
{
    public async ValueTask<Violation> Handle(GetViolationQuery query, CancellationToken cancellationToken) =>
        await db.Violations.AsNoTracking().SingleOrDefaultAsync(v => v.Id == query.ViolationId, cancellationToken)
        ?? throw new NotFoundException($"violation '{query.ViolationId}' was not found");
}
