using FluentValidation;
using Mediator;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>One stored version of the policy, with its content.</summary>
public sealed record GetPolicyVersionQuery(string Version) : IQuery<PolicyVersion>;

public sealed class GetPolicyVersionQueryValidator : AbstractValidator<GetPolicyVersionQuery>
{
    public GetPolicyVersionQueryValidator() => RuleFor(q => q.Version).VersionName();
}

public sealed class GetPolicyVersionQueryHandler(ScoringDbContext db) : IQueryHandler<GetPolicyVersionQuery, PolicyVersion>
{
    public async ValueTask<PolicyVersion> Handle(GetPolicyVersionQuery query, CancellationToken cancellationToken) =>
        await db.FindVersionAsync(query.Version, tracked: false, cancellationToken);
}
