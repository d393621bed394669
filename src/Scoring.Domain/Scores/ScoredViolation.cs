namespace Scoring.Domain.Scores;

/// <summary>
/// What the score needs to know about one active violation; small enough to cache per user. No points: the
/// policy a score is computed under turns category and severity into points, so a new version's weights
/// apply to every violation that still counts, not only to those recorded after it.
/// </summary>
/// <param name="Contested">Under an open appeal (SUBMITTED or IN_REVIEW).</param>
public readonly record struct ScoredViolation(
    string ViolationId,
    string Category,
    Severity Severity,
    DateTimeOffset OccurredAt,
    bool Contested = false);
