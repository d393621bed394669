using Scoring.Domain.Policies;

namespace Scoring.Domain.Scores;

/// <summary>
/// The scoring model: each active violation contributes base_points × 2^(−age/half_life) until it is
/// older than max_age; the points map to a standing. Scores depend only on occurred_at, never on the
/// order in which violations arrived.
/// </summary>
public static class ScoreCalculator
{
    // standing_improves_at is promised to the minute. The search narrows to a microsecond and the answer is
    // rounded up to the whole second, so repeated reads report the same instant, not one that jitters.
    private static readonly TimeSpan SearchResolution = TimeSpan.FromMicroseconds(1);

    /// <param name="includeImprovesAt">
    /// Whether to search for <see cref="Score.StandingImprovesAt"/> (most of the cost of a non-GOOD score); a
    /// simulation, which reports standings and points only, leaves it null.
    /// </param>
    public static Score Compute(
        ScoringPolicy policy,
        IReadOnlyCollection<ScoredViolation> violations,
        DateTimeOffset at,
        bool includeBreakdown = false,
        bool includeImprovesAt = true)
    {
        var points = 0.0;
        var active = 0;
        var permanent = false;
        var contested = false;
        var breakdown = includeBreakdown ? new List<Contribution>(violations.Count) : null;

        foreach (var violation in violations)
        {
            if (policy.FindCategory(violation.Category) is not { } category || IsExpired(policy, category, violation, at))
            {
                continue;
            }

            var current = Decayed(policy, category, violation, at);
            points += current;
            active++;
            permanent |= IsPermanent(category, violation);
            contested |= violation.Contested;
            breakdown?.Add(new Contribution(violation, policy.BasePoints(category, violation.Severity), current, category.HalfLife));
        }

        var standing = permanent ? Standing.Banned : policy.StandingFor(points);
        var improvesAt = standing == Standing.Good || permanent || !includeImprovesAt
            ? (DateTimeOffset?)null
            : FirstDropAfter(policy, violations, at, ThresholdOf(policy, standing));

        return new Score(points, standing, active, at, policy.Version, improvesAt, permanent, breakdown ?? [], contested);
    }

    /// <summary>The points of one violation at an instant: 0 once expired.</summary>
    public static double PointsAt(ScoringPolicy policy, ScoredViolation violation, DateTimeOffset at) =>
        policy.FindCategory(violation.Category) is { } category && !IsExpired(policy, category, violation, at)
            ? Decayed(policy, category, violation, at)
            : 0;

    /// <summary>Whether the violation stopped counting because of its age.</summary>
    public static bool IsExpired(ScoringPolicy policy, ScoredViolation violation, DateTimeOffset at) =>
        policy.FindCategory(violation.Category) is not { } category || IsExpired(policy, category, violation, at);

    /// <summary>The sum of contributions at an instant.</summary>
    public static double TotalAt(ScoringPolicy policy, IEnumerable<ScoredViolation> violations, DateTimeOffset at) =>
        violations.Sum(v => PointsAt(policy, v, at));

    private static bool IsPermanent(CategoryPolicy category, ScoredViolation violation) =>
        category.ZeroTolerance && violation.Severity == Severity.Critical;

    private static bool IsExpired(ScoringPolicy policy, CategoryPolicy category, ScoredViolation violation, DateTimeOffset at) =>
        !IsPermanent(category, violation) && Age(violation, at) > policy.MaxAge;

    private static TimeSpan Age(ScoredViolation violation, DateTimeOffset at)
    {
        var age = at - violation.OccurredAt;
        return age > TimeSpan.Zero ? age : TimeSpan.Zero;
    }

    private static double Decayed(ScoringPolicy policy, CategoryPolicy category, ScoredViolation violation, DateTimeOffset at) =>
        policy.BasePoints(category, violation.Severity) * double.Exp2(-(Age(violation, at) / category.HalfLife));

    private static double ThresholdOf(ScoringPolicy policy, Standing standing) => standing switch
    {
        Standing.Warned => policy.Thresholds.Warned,
        Standing.Restricted => policy.Thresholds.Restricted,
        Standing.Suspended => policy.Thresholds.Suspended,
        Standing.Banned => policy.Thresholds.Banned,
        _ => throw new ArgumentOutOfRangeException(nameof(standing)),
    };

    /// <summary>
    /// The first instant after <paramref name="from"/> at which the points fall below <paramref name="threshold"/>.
    /// With no permanent violation the total never rises as time passes (each term decays or drops to 0 at
    /// expiry), so a binary search over time finds the crossing. The terms are flattened once, so each of
    /// the search's ~40 steps is plain arithmetic: no lookups, no allocations.
    /// </summary>
    private static DateTimeOffset FirstDropAfter(
        ScoringPolicy policy, IReadOnlyCollection<ScoredViolation> violations, DateTimeOffset from, double threshold)
    {
        var terms = new Term[violations.Count];
        var count = 0;
        var latest = from.UtcTicks;
        foreach (var violation in violations)
        {
            if (policy.FindCategory(violation.Category) is not { } category || IsExpired(policy, category, violation, from))
            {
                continue;
            }

            var occurred = violation.OccurredAt.UtcTicks;
            terms[count++] = new Term(policy.BasePoints(category, violation.Severity), occurred, category.HalfLife.Ticks, occurred + policy.MaxAge.Ticks);
            latest = Math.Max(latest, occurred);
        }

        // Once every violation has expired the total is 0, below any positive threshold.
        var span = terms.AsSpan(0, count);
        var low = from.UtcTicks;
        var high = latest + policy.MaxAge.Ticks + SearchResolution.Ticks;
        while (high - low > SearchResolution.Ticks)
        {
            var middle = low + ((high - low) / 2);
            if (Total(span, middle) < threshold)
            {
                high = middle;
            }
            else
            {
                low = middle;
            }
        }

        return RoundUpToSecond(new DateTimeOffset(high, TimeSpan.Zero));
    }

    private static double Total(ReadOnlySpan<Term> terms, long at)
    {
        var total = 0.0;
        foreach (ref readonly var term in terms)
        {
            if (at <= term.LastCountingTicks)
            {
                var age = Math.Max(0, at - term.OccurredTicks);
                total += term.BasePoints * double.Exp2(-(age / term.HalfLifeTicks));
            }
        }

        return total;
    }

    /// <summary>One counting violation, flattened for the search: it counts until <see cref="LastCountingTicks"/>.</summary>
    private readonly record struct Term(double BasePoints, long OccurredTicks, double HalfLifeTicks, long LastCountingTicks);

    private static DateTimeOffset RoundUpToSecond(DateTimeOffset at)
    {
        var remainder = at.UtcTicks % TimeSpan.TicksPerSecond;
        return remainder == 0 ? at : at.AddTicks(TimeSpan.TicksPerSecond - remainder);
    }
}
