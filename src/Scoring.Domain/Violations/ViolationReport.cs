namespace Scoring.Domain.Violations;

/// <summary>What a platform service reports. (<see cref="Source"/>, <see cref="EventId"/>) identifies it forever.</summary>
/// <param name="OccurredAt">When it happened; null means "now".</param>
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
    bool Automated);
