using Mediator;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>The policy in force.</summary>
public sealed record GetPolicyQuery : IQuery<ScoringPolicy>;

public sealed class GetPolicyQueryHandler(ScoringPolicy policy) : IQueryHandler<GetPolicyQuery, ScoringPolicy>
{
    public ValueTask<ScoringPolicy> Handle(GetPolicyQuery query, CancellationToken cancellationToken) => ValueTask.FromResult(policy);
}
