namespace Scoring.Domain.Scores;

/// <summary>What the score needs to know about one active violation; small enough to cache per user.</summary>
public readonly record struct ScoredViolation(
    string ViolationId,
    string Category,
    Severity Severity,
    double BasePoints,
    DateTimeOffset OccurredAt);
