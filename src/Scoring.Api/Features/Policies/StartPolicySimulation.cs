using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Security;
using Scoring.Domain;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// Asks for a simulation of <see cref="CandidateVersion"/> against a baseline (the active version unless
/// named) at an instant (now unless given). It waits as a job for a replica's <see cref="PolicyJobRunner"/>:
/// this one is woken at once. A draft cannot be simulated: publish it first, so the result stays true of
/// what would be activated.
/// </summary>
public sealed record StartPolicySimulationCommand(string CandidateVersion, string? BaselineVersion, DateTimeOffset? AsOf) : ICommand<PolicySimulationView>;

/// <summary>A simulation as its readers see it: the job, and its tally once there is one.</summary>
public sealed record PolicySimulationView(PolicyJob Job, SimulationTally? Tally);

public sealed class StartPolicySimulationCommandValidator : AbstractValidator<StartPolicySimulationCommand>
{
    public StartPolicySimulationCommandValidator()
    {
        RuleFor(c => c.CandidateVersion).VersionName();
        RuleFor(c => c.BaselineVersion).VersionName().When(c => !string.IsNullOrEmpty(c.BaselineVersion));
        RuleFor(c => c.AsOf).Must(at => at > DateTimeOffset.UnixEpoch).WithMessage("{PropertyName} must be a valid instant after 1970").When(c => c.AsOf is not null);
    }
}

public sealed class StartPolicySimulationCommandHandler(
    ScoringDbContext db, PolicyJobSignal signal, IIdGenerator ids, Caller caller, TimeProvider timeProvider)
    : ICommandHandler<StartPolicySimulationCommand, PolicySimulationView>
{
    public async ValueTask<PolicySimulationView> Handle(StartPolicySimulationCommand command, CancellationToken cancellationToken)
    {
        var candidate = await db.FindVersionAsync(command.CandidateVersion, tracked: false, cancellationToken);
        var baseline = string.IsNullOrEmpty(command.BaselineVersion)
            ? await db.PolicyVersions.AsNoTracking().SingleOrDefaultAsync(v => v.State == PolicyVersionState.Active, cancellationToken)
                ?? throw new DomainException("no version is active yet to compare with; name baseline_version")
            : await db.FindVersionAsync(command.BaselineVersion, tracked: false, cancellationToken);
        foreach (var version in (PolicyVersion[])[candidate, baseline])
        {
            if (version.State == PolicyVersionState.Draft)
            {
                throw new DomainException($"policy version '{version.Version}' is a DRAFT; publish it before simulating it");
            }
        }

        var now = timeProvider.GetUtcNow();
        var job = PolicyJob.Simulation(ids.NewId(), candidate.Version, baseline.Version, command.AsOf ?? now, caller.Author(), now);
        db.PolicyJobs.Add(job);
        await db.SaveChangesAsync(cancellationToken);
        signal.Wake();
        return new PolicySimulationView(job, null);
    }
}
