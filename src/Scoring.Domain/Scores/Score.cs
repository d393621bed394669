namespace Scoring.Domain.Scores;

/// <summary>A user's score at one instant.</summary>
/// <param name="StandingImprovesAt">The first instant after <paramref name="ComputedAt"/> at which the standing would be lower; null when GOOD or held by a permanent violation.</param>
/// <param name="Permanent">An active zero-tolerance CRITICAL violation holds the standing at BANNED.</param>
/// <param name="Breakdown">One entry per contributing violation, when asked for.</param>
/// <param name="Contested">An active violation is under an open appeal.</param>
public sealed record Score(
    double Points,
    Standing Standing,
    int ActiveViolations,
    DateTimeOffset ComputedAt,
    string PolicyVersion,
    DateTimeOffset? StandingImprovesAt,
    bool Permanent,
    IReadOnlyList<Contribution> Breakdown,
    bool Contested = false);

/// <summary>What one violation adds to a score at <see cref="Score.ComputedAt"/>.</summary>
/// <param name="BasePoints">Its undecayed points under the policy the score was computed under.</param>
public sealed record Contribution(ScoredViolation Violation, double BasePoints, double CurrentPoints, TimeSpan HalfLife);
