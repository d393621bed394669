using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Security;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// A new draft: a whole policy, or a copy of a stored version under a new version string. The same request
/// again returns the stored version; the same version string with other content is ALREADY_EXISTS.
/// </summary>
/// <param name="Version">With <paramref name="Policy"/>: replaces its version string when set. With <paramref name="FromVersion"/>: required.</param>
public sealed record CreatePolicyDraftCommand(ScoringPolicy? Policy, string? FromVersion, string? Version, string Description) : ICommand<PolicyVersion>
{
    /// <summary>The content the draft gets when it is given whole (the version string applied).</summary>
    public ScoringPolicy? GivenPolicy => Policy is null || string.IsNullOrEmpty(Version) ? Policy : Policy with { Version = Version };
}

public sealed class CreatePolicyDraftCommandValidator : AbstractValidator<CreatePolicyDraftCommand>
{
    public CreatePolicyDraftCommandValidator()
    {
        RuleFor(c => c.Policy).Must((c, policy) => (policy is null) != string.IsNullOrEmpty(c.FromVersion))
            .WithMessage("exactly one of policy and from_version is required");
        RuleFor(c => c.Version).VersionName().When(c => !string.IsNullOrEmpty(c.FromVersion) || !string.IsNullOrEmpty(c.Version));
        RuleFor(c => c.FromVersion).VersionName().When(c => !string.IsNullOrEmpty(c.FromVersion));
        RuleFor(c => c.GivenPolicy).ValidContent("policy");
        RuleFor(c => c.Description).MaximumLength(PolicyVersionRules.MaxDescriptionLength)
            .WithMessage($"{{PropertyName}} must be at most {PolicyVersionRules.MaxDescriptionLength} characters");
    }
}

public sealed class CreatePolicyDraftCommandHandler(ScoringDbContext db, PolicyAudit audit, Caller caller, TimeProvider timeProvider)
    : ICommandHandler<CreatePolicyDraftCommand, PolicyVersion>
{
    public async ValueTask<PolicyVersion> Handle(CreatePolicyDraftCommand command, CancellationToken cancellationToken)
    {
        var content = command.GivenPolicy
            ?? (await db.FindVersionAsync(command.FromVersion!, tracked: false, cancellationToken)).Content() with { Version = command.Version! };

        // The same version string again: a retried call when the rules and description are the same, a conflict otherwise.
        if (await db.PolicyVersions.AsNoTracking().SingleOrDefaultAsync(v => v.Version == content.Version, cancellationToken) is { } existing)
        {
            return existing.ContentHash == PolicyCanonicalForm.Hash(content) && existing.Description == command.Description
                ? existing
                : throw new Common.ConflictException($"policy version '{content.Version}' already exists with other content");
        }

        var draft = PolicyVersion.Draft(content, command.Description, caller.Author(), timeProvider.GetUtcNow());
        db.PolicyVersions.Add(draft);
        await audit.RecordAsync(
            draft, AuditActions.PolicyDrafted, PolicyVersionState.Unspecified, command.FromVersion is { } from ? $"copied from {from}" : "created", cancellationToken);
        await db.SaveVersionAsync(draft.Version, cancellationToken);
        return draft;
    }
}
