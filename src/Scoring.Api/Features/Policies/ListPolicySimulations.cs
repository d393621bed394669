using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>Simulations, newest first, one keyset page at a time: progress and state, without their results (GetPolicySimulation has those).</summary>
public sealed record ListPolicySimulationsQuery(int PageSize, string? PageToken) : IQuery<PolicySimulationPage>;

/// <param name="NextPageToken">Null on the last page.</param>
public sealed record PolicySimulationPage(IReadOnlyList<PolicySimulationView> Simulations, string? NextPageToken);

public sealed class ListPolicySimulationsQueryValidator : AbstractValidator<ListPolicySimulationsQuery>
{
    public ListPolicySimulationsQueryValidator()
    {
        RuleFor(q => q.PageSize).PageSize();
        RuleFor(q => q.PageToken).PageToken();
    }
}

public sealed class ListPolicySimulationsQueryHandler(ScoringDbContext db) : IQueryHandler<ListPolicySimulationsQuery, PolicySimulationPage>
{
    public async ValueTask<PolicySimulationPage> Handle(ListPolicySimulationsQuery query, CancellationToken cancellationToken)
    {
        var jobs = db.PolicyJobs.AsNoTracking().Where(j => j.Kind == PolicyJobKind.Simulation);
        if (Paging.TryContinueAfter(query.PageToken, out var after))
        {
            var afterAt = new DateTimeOffset(after.Position, TimeSpan.Zero);
            jobs = jobs.Where(j => j.CreatedAt < afterAt || (j.CreatedAt == afterAt && string.Compare(j.Id, after.Id) < 0));
        }

        var (page, next) = await jobs
            .OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id)
            .ReadPageAsync(query.PageSize, j => new PageCursor(j.CreatedAt.UtcTicks, j.Id), cancellationToken);
        return new PolicySimulationPage([.. page.Select(j => new PolicySimulationView(j, null))], next);
    }
}
