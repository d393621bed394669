using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Api.Options;
using Scoring.Api.Security;
using Microsoft.Extensions.Options;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// Makes a published (or retired: a rollback) version the one scores are computed under, and retires the
/// version it replaces, both audited on the system chain. This replica scores under it at once, the others
/// within Policies:RefreshInterval; cached states of the old version are never served (each names the
/// version it was read under). The users whose standing it changes get a feed entry with cause _POLICY from
/// a re-scoring pass that one replica runs in the background. Activating the active version changes nothing.
/// </summary>
public sealed record ActivatePolicyCommand(string Version, string Reason) : ICommand<PolicyActivation>;

/// <param name="Retired">The version it replaced; null when it was already active.</param>
/// <param name="RescoreJobId">The re-scoring pass that records the standings it changed; null when it was already active.</param>
public sealed record PolicyActivation(PolicyVersion Activated, PolicyVersion? Retired, string? RescoreJobId);

public sealed class ActivatePolicyCommandValidator : AbstractValidator<ActivatePolicyCommand>
{
    public ActivatePolicyCommandValidator()
    {
        RuleFor(c => c.Version).VersionName();
        RuleFor(c => c.Reason).Text(PolicyVersionRules.MaxReasonLength);
    }
}

public sealed class ActivatePolicyCommandHandler(
    ScoringDbContext db, PolicyAudit audit, ActivePolicy active, IIdGenerator ids, Caller caller, IOptions<PoliciesOptions> options, TimeProvider timeProvider)
    : ICommandHandler<ActivatePolicyCommand, PolicyActivation>
{
    public async ValueTask<PolicyActivation> Handle(ActivatePolicyCommand command, CancellationToken cancellationToken)
    {
        var next = await db.FindVersionAsync(command.Version, tracked: true, cancellationToken);
        if (next.State == PolicyVersionState.Active)
        {
            // A retried call, or a rollback to what already scores: nothing changes.
            return new PolicyActivation(next, null, null);
        }

        next.RequireActivatable();
        var content = next.Content();
        var current = await db.PolicyVersions.SingleOrDefaultAsync(v => v.State == PolicyVersionState.Active, cancellationToken);
        var now = timeProvider.GetUtcNow();
        var before = next.State;

        db.Database.AutoSavepointsEnabled = false;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            // Retired first, in its own statement: at most one version is active at any moment (a unique index says so).
            if (current is not null)
            {
                current.Retire(now);
                await audit.RecordAsync(current, AuditActions.PolicyRetired, PolicyVersionState.Active, $"replaced by {next.Version}", cancellationToken);
                await db.SaveVersionAsync(current.Version, cancellationToken);
            }

            next.Activate(now);
            await audit.RecordAsync(next, AuditActions.PolicyActivated, before, command.Reason, cancellationToken);
            // Two refresh intervals: by then every replica scores under it, and the pass sees their writes.
            var rescore = PolicyJob.Rescore(ids.NewId(), next.Version, current?.Version, caller.Author(), now, 2 * options.Value.RefreshInterval);
            db.PolicyJobs.Add(rescore);
            await db.SaveVersionAsync(next.Version, cancellationToken);
            await transaction.CommitAsync(cancellationToken);

            active.Use(content);
            return new PolicyActivation(next, current, rescore.Id);
        }
    }
}
