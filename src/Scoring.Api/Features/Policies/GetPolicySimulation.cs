using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>A simulation's progress, and its tally once it succeeded.</summary>
public sealed record GetPolicySimulationQuery(string SimulationId) : IQuery<PolicySimulationView>;

public sealed class GetPolicySimulationQueryValidator : AbstractValidator<GetPolicySimulationQuery>
{
    public GetPolicySimulationQueryValidator() => RuleFor(q => q.SimulationId).Identifier(36);
}

public sealed class GetPolicySimulationQueryHandler(ScoringDbContext db) : IQueryHandler<GetPolicySimulationQuery, PolicySimulationView>
{
    public async ValueTask<PolicySimulationView> Handle(GetPolicySimulationQuery query, CancellationToken cancellationToken)
    {
        var job = await db.FindSimulationAsync(query.SimulationId, tracked: false, cancellationToken);
        return new PolicySimulationView(job, job.State == PolicyJobState.Succeeded ? PolicySimulationStep.Read(job.Result) : null);
    }
}

public static class PolicySimulations
{
    public static async Task<PolicyJob> FindSimulationAsync(this ScoringDbContext db, string id, bool tracked, CancellationToken cancellationToken)
    {
        var jobs = tracked ? db.PolicyJobs : db.PolicyJobs.AsNoTracking();
        return await jobs.SingleOrDefaultAsync(j => j.Id == id && j.Kind == PolicyJobKind.Simulation, cancellationToken)
            ?? throw new NotFoundException($"policy simulation '{id}' was not found");
    }
}
