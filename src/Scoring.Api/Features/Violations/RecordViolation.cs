using System.Text.RegularExpressions;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Features.Scores;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Api.Security;
using Scoring.Domain;
using Scoring.Domain.Policies;
using Scoring.Domain.Audit;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;
using Severity = Scoring.Domain.Severity;

namespace Scoring.Api.Features.Violations;

/// <summary>Records one reported violation, exactly once per (source, event id).</summary>
public sealed record RecordViolationCommand(
    string Source,
    string EventId,
    string UserId,
    string Category,
    Severity Severity,
    DateTimeOffset? OccurredAt,
    string? EvidenceRef,
    string? Note,
    string? DecidedBy,
    bool Automated,
    DecisionGround DecisionGround = DecisionGround.Unspecified,
    string? LegalGround = null) : ICommand<RecordedViolation>, IClaimsSource
{
    public ViolationReport ToReport() =>
        new(Source, EventId, UserId, Category, Severity, OccurredAt, EvidenceRef, Note, DecidedBy, Automated, DecisionGround, LegalGround);
}

/// <param name="Duplicate">The event was already recorded with this payload; nothing changed.</param>
public sealed record RecordedViolation(Violation Violation, Score Score, bool Duplicate);

public sealed partial class RecordViolationCommandValidator : AbstractValidator<RecordViolationCommand>
{
    /// <summary>How far ahead of the server clock a reporter's clock may run.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    [GeneratedRegex("^[a-z0-9._:-]+$")]
    private static partial Regex SourcePattern();

    [GeneratedRegex(@"^[\x21-\x7E]+$")]
    private static partial Regex PrintableWithoutWhitespace();

    public RecordViolationCommandValidator(ActivePolicy active, TimeProvider timeProvider)
    {
        RuleFor(c => c.Source)
            .NotEmpty().WithMessage("{PropertyName} is required")
            .MaximumLength(64).WithMessage("{PropertyName} must be at most 64 characters")
            .Matches(SourcePattern()).WithMessage("{PropertyName} may contain only a-z, 0-9, '.', '_', ':' and '-'");

        RuleFor(c => c.EventId)
            .NotEmpty().WithMessage("{PropertyName} is required")
            .MaximumLength(128).WithMessage("{PropertyName} must be at most 128 characters")
            .Matches(PrintableWithoutWhitespace()).WithMessage("{PropertyName} must be printable ASCII without whitespace");

        RuleFor(c => c.UserId).UserId();

        RuleFor(c => c.Category)
            .NotEmpty().WithMessage("{PropertyName} is required")
            .Must(name => active.Current.FindCategory(name) is not null)
            .WithMessage(c => KnownCategories(c.Category, active.Current));

        RuleFor(c => c.Severity)
            .Must(s => s is >= Severity.Low and <= Severity.Critical)
            .WithMessage("{PropertyName} must be one of SEVERITY_LOW, SEVERITY_MEDIUM, SEVERITY_HIGH, SEVERITY_CRITICAL");

        RuleFor(c => c.OccurredAt)
            .Must(at => at <= timeProvider.GetUtcNow() + MaxClockSkew)
            .WithMessage("{PropertyName} must be at most 5 minutes in the future")
            .Must(at => at >= timeProvider.GetUtcNow() - active.Current.MaxAge)
            .WithMessage(_ => $"occurred_at must not be older than the policy's max_age ({active.Current.MaxAge.TotalDays:0.##} days)")
            .When(c => c.OccurredAt is not null);

        RuleFor(c => c.EvidenceRef).MaximumLength(2048).WithMessage("{PropertyName} must be at most 2048 characters");
        RuleFor(c => c.Note).MaximumLength(2000).WithMessage("{PropertyName} must be at most 2000 characters");
        RuleFor(c => c.DecidedBy).MaximumLength(128).WithMessage("{PropertyName} must be at most 128 characters");
        RuleFor(c => c.DecisionGround).IsInEnum()
            .WithMessage("{PropertyName} must be one of DECISION_GROUND_UNSPECIFIED, DECISION_GROUND_ILLEGAL_CONTENT, DECISION_GROUND_INCOMPATIBLE_CONTENT");
        RuleFor(c => c.LegalGround).MaximumLength(500).WithMessage("{PropertyName} must be at most 500 characters");
    }

    private static string KnownCategories(string category, ScoringPolicy policy) =>
        $"category '{category}' is not in policy {policy.Version}; known: {string.Join(", ", policy.Categories.Select(k => k.Name))}";
}

/// <summary>
/// Goes through the write pipeline, so single records arriving together share one commit; answers
/// with the violation (new, or the original of a replay) and the user's score after the commit.
/// </summary>
public sealed class RecordViolationCommandHandler(ViolationWritePipeline pipeline)
    : ICommandHandler<RecordViolationCommand, RecordedViolation>
{
    public async ValueTask<RecordedViolation> Handle(RecordViolationCommand command, CancellationToken cancellationToken)
    {
        var recorded = await pipeline.RecordAsync([command.ToReport()], cancellationToken);
        var (violation, duplicate, error, _) = recorded.Outcomes[0];
        if (error is not null)
        {
            throw error;
        }

        return new RecordedViolation(violation, recorded.Scores[violation.UserId], duplicate);
    }
}
