using FluentValidation;
using Mediator;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// Validates a draft and freezes it: from now on it can be simulated and activated, never edited. Publishing
/// a version published before returns it unchanged, so a retried call is harmless.
/// </summary>
public sealed record PublishPolicyDraftCommand(string Version, string? ETag = null) : ICommand<PolicyVersion>;

public sealed class PublishPolicyDraftCommandValidator : AbstractValidator<PublishPolicyDraftCommand>
{
    public PublishPolicyDraftCommandValidator() => RuleFor(c => c.Version).VersionName();
}

public sealed class PublishPolicyDraftCommandHandler(ScoringDbContext db, PolicyAudit audit, TimeProvider timeProvider) : ICommandHandler<PublishPolicyDraftCommand, PolicyVersion>
{
    public async ValueTask<PolicyVersion> Handle(PublishPolicyDraftCommand command, CancellationToken cancellationToken)
    {
        var draft = await db.FindVersionAsync(command.Version, tracked: true, cancellationToken);
        if (draft.PublishedAt is not null)
        {
            // Published before (a retried call): frozen as it was, nothing to do.
            return draft;
        }

        draft.RequireETag(command.ETag);

        // Checked again: the rules may have grown since the draft was written.
        if (draft.Content().Validate() is { Count: > 0 } problems)
        {
            throw new InvalidPolicyContentException(problems);
        }

        draft.Publish(timeProvider.GetUtcNow());
        await audit.RecordAsync(draft, AuditActions.PolicyPublished, PolicyVersionState.Draft, "validated and frozen", cancellationToken);
        await db.SaveVersionAsync(draft.Version, cancellationToken);
        return draft;
    }
}
