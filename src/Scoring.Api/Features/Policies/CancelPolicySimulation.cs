using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;

namespace Scoring.Api.Features.Policies;

/// <summary>Stops a pending or running simulation: its replica notices before its next page. Cancelling a cancelled one changes nothing.</summary>
public sealed record CancelPolicySimulationCommand(string SimulationId) : ICommand<PolicySimulationView>;

public sealed class CancelPolicySimulationCommandValidator : AbstractValidator<CancelPolicySimulationCommand>
{
    public CancelPolicySimulationCommandValidator() => RuleFor(c => c.SimulationId).Identifier(36);
}

public sealed class CancelPolicySimulationCommandHandler(ScoringDbContext db, TimeProvider timeProvider)
    : ICommandHandler<CancelPolicySimulationCommand, PolicySimulationView>
{
    public async ValueTask<PolicySimulationView> Handle(CancelPolicySimulationCommand command, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var job = await db.FindSimulationAsync(command.SimulationId, tracked: true, cancellationToken);
            job.Cancel(timeProvider.GetUtcNow());
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return new PolicySimulationView(job, null);
            }
            catch (DbUpdateConcurrencyException) when (attempt < 5)
            {
                // Its replica saved a page meanwhile: read it as it is now and cancel that.
                db.ChangeTracker.Clear();
            }
            catch (DbUpdateConcurrencyException)
            {
                throw new AbortedException($"policy simulation '{command.SimulationId}' kept moving on; try again");
            }
        }
    }
}
