namespace Scoring.Domain.Scores;

/// <summary>What the score needs to know about one active violation; small enough to cache per user.</summary>
/// <param name="Contested">Under an open appeal (SUBMITTED or IN_REVIEW).</param>
public readonly record struct ScoredViolation(
    string ViolationId,
    string Category,
    Severity Severity,
    double BasePoints,
    DateTimeOffset OccurredAt,
    bool Contested = false);
