using FluentValidation;
using Mediator;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>Replaces a draft's content and description; its version string stays.</summary>
public sealed record UpdatePolicyDraftCommand(string Version, ScoringPolicy? Policy, string Description, string? ETag = null) : ICommand<PolicyVersion>
{
    /// <summary>The new content under the draft's version string (a policy may leave its version empty).</summary>
    public ScoringPolicy? GivenPolicy => Policy is null || !string.IsNullOrEmpty(Policy.Version) ? Policy : Policy with { Version = Version };
}

public sealed class UpdatePolicyDraftCommandValidator : AbstractValidator<UpdatePolicyDraftCommand>
{
    public UpdatePolicyDraftCommandValidator()
    {
        RuleFor(c => c.Version).VersionName();
        RuleFor(c => c.Policy).NotNull().WithMessage("{PropertyName} is required");
        RuleFor(c => c.GivenPolicy!.Version).Equal(c => c.Version).When(c => c.Policy is not null)
            .OverridePropertyName("policy.version").WithMessage("policy.version must be empty or equal version: a draft keeps its version string");
        RuleFor(c => c.GivenPolicy).ValidContent("policy");
        RuleFor(c => c.Description).MaximumLength(PolicyVersionRules.MaxDescriptionLength)
            .WithMessage($"{{PropertyName}} must be at most {PolicyVersionRules.MaxDescriptionLength} characters");
    }
}

public sealed class UpdatePolicyDraftCommandHandler(ScoringDbContext db, PolicyAudit audit, TimeProvider timeProvider) : ICommandHandler<UpdatePolicyDraftCommand, PolicyVersion>
{
    public async ValueTask<PolicyVersion> Handle(UpdatePolicyDraftCommand command, CancellationToken cancellationToken)
    {
        var draft = await db.FindVersionAsync(command.Version, tracked: true, cancellationToken);
        draft.RequireETag(command.ETag);
        draft.Update(command.GivenPolicy!, command.Description, timeProvider.GetUtcNow());
        await audit.RecordAsync(draft, AuditActions.PolicyUpdated, PolicyVersionState.Draft, "content replaced", cancellationToken);
        await db.SaveVersionAsync(draft.Version, cancellationToken);
        return draft;
    }
}
