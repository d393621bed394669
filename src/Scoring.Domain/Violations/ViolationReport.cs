namespace Scoring.Domain.Violations;

/// <summary>What a platform service reports. (<see cref="Source"/>, <see cref="EventId"/>) identifies it forever.</summary>
/// <param name="OccurredAt">When it happened; null means "now".</param>
/// <param name="DecisionGround">What the decision rests on (DSA Art. 17), when the reporter says.</param>
/// <param name="LegalGround">The law or terms-and-conditions clause relied on.</param>
public sealed record ViolationReport(
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
    string? LegalGround = null);
