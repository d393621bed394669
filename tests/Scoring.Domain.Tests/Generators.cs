using CsCheck;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;

namespace Scoring.Domain.Tests;

/// <summary>Random violations under the default policy, around a fixed instant.</summary>
internal static class Generators
{
    public static readonly ScoringPolicy Policy = ScoringPolicy.Default;
    public static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static readonly long MaxAgeTicks = Policy.MaxAge.Ticks;

    /// <summary>Ages from 5 minutes in the future to well past max_age, so expiry is exercised.</summary>
    public static readonly Gen<ScoredViolation> AnyViolation =
        Gen.Select(
            Gen.Int[0, Policy.Categories.Count - 1],
            Gen.Int[1, 4],
            Gen.Long[-TimeSpan.FromMinutes(5).Ticks, MaxAgeTicks + MaxAgeTicks / 4],
            Gen.Int[0, 1_000_000],
            (category, severity, ageTicks, id) =>
            {
                var policy = Policy.Categories[category];
                var sev = (Severity)severity;
                return new ScoredViolation($"v{id}", policy.Name, sev, Now - TimeSpan.FromTicks(ageTicks));
            });

    /// <summary>Violations that can never be permanent (no zero-tolerance CRITICAL).</summary>
    public static readonly Gen<ScoredViolation> Transient =
        AnyViolation.Where(v => !(v.Severity == Severity.Critical && Policy.FindCategory(v.Category)!.ZeroTolerance));

    public static Standing StandingAt(IReadOnlyCollection<ScoredViolation> violations, DateTimeOffset at) =>
        ScoreCalculator.Compute(Policy, violations, at).Standing;
}
