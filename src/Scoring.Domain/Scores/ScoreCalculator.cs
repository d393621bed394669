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
    /// expiry), so a binary search over time finds the crossing. Each of its ~40 steps evaluates the total
    /// per half-life, not per violation (<see cref="DecayGroup"/>): a user's violations share a few
    /// half-lives, so a step costs a few powers of two however many violations count. Up to
    /// <see cref="MostSummedOneByOne"/> violations are summed one by one, which costs less than the groups'
    /// searches. (Buffers on the stack measured slower than these small arrays; see tests/perf/PERFORMANCE.md.)
    /// </summary>
    private static DateTimeOffset FirstDropAfter(
        ScoringPolicy policy, IReadOnlyCollection<ScoredViolation> violations, DateTimeOffset from, double threshold)
    {
        Span<Term> terms = new Term[violations.Count];
        var count = 0;
        var latest = from.UtcTicks;
        foreach (var violation in violations)
        {
            if (policy.FindCategory(violation.Category) is not { } category || IsExpired(policy, category, violation, from))
            {
                continue;
            }

            var occurred = violation.OccurredAt.UtcTicks;
            terms[count++] = new Term(category.HalfLife.Ticks, occurred, policy.BasePoints(category, violation.Severity));
            latest = Math.Max(latest, occurred);
        }

        // Ordered by half-life, then time, then points: the groups and the order of every sum depend only on
        // which violations count, never on the order they came in.
        terms = terms[..count];
        terms.Sort();
        double[] sums = [];
        var groups = count > MostSummedOneByOne ? DecayGroup.BuildAll(terms, out sums) : [];

        // Once every violation has expired the total is 0, below any positive threshold.
        var maxAge = policy.MaxAge.Ticks;
        var low = from.UtcTicks;
        var high = latest + maxAge + SearchResolution.Ticks;
        while (high - low > SearchResolution.Ticks)
        {
            var middle = low + ((high - low) / 2);
            var total = 0.0;
            if (groups.Length > 0)
            {
                foreach (var group in groups)
                {
                    total += group.PointsAt(middle, maxAge, terms, sums);
                }
            }
            else
            {
                foreach (var term in terms)
                {
                    total += term.PointsAt(middle, maxAge);
                }
            }

            if (total < threshold)
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

    /// <summary>Up to this many counting violations the search sums them one by one.</summary>
    private const int MostSummedOneByOne = 6;

    /// <summary>One counting violation, flattened for the search.</summary>
    private readonly record struct Term(double HalfLifeTicks, long OccurredTicks, double BasePoints) : IComparable<Term>
    {
        /// <summary>Its points at <paramref name="at"/>: in full until it occurred, decayed from then, none past max_age.</summary>
        public double PointsAt(long at, long maxAge) =>
            OccurredTicks >= at - maxAge
                ? BasePoints * double.Exp2(-(Math.Max(0, at - OccurredTicks) / HalfLifeTicks))
                : 0;

        public int CompareTo(Term other) =>
            HalfLifeTicks != other.HalfLifeTicks ? HalfLifeTicks.CompareTo(other.HalfLifeTicks)
            : OccurredTicks != other.OccurredTicks ? OccurredTicks.CompareTo(other.OccurredTicks)
            : BasePoints.CompareTo(other.BasePoints);
    }

    /// <summary>
    /// The ordered terms <c>[Start, End)</c>, which share one half-life h and occurred within
    /// <see cref="MostHalfLives"/> half-lives of each other, summed so that their points at any instant t
    /// take two binary searches and one power of two. At t a violation counts in full until it occurred
    /// (its age is never negative), decays from then, and counts nothing past max_age. The decaying ones,
    /// those that occurred within max_age before t, sum to 2^(−(t−R)/h) × Σ b·2^((o−R)/h), with R the
    /// group's latest occurrence. Both powers stay normal numbers: o and t (when any term decays, t is past
    /// the group's first occurrence) are within that span of R. That sum and the full points of those still
    /// to occur are differences of prefix sums, one more than the group's terms, kept in a shared buffer
    /// from <c>PointsFrom</c> (points) and <c>WeightsFrom</c> (weighted points) on.
    /// </summary>
    private readonly record struct DecayGroup(int Start, int End, int PointsFrom, int WeightsFrom, double HalfLife, long Reference)
    {
        /// <summary>A group spans at most this many half-lives (2^512 is far inside a double's range).</summary>
        private const long MostHalfLives = 512;

        /// <summary>The groups of the ordered <paramref name="terms"/>, and their prefix sums.</summary>
        public static DecayGroup[] BuildAll(ReadOnlySpan<Term> terms, out double[] sums)
        {
            var groups = new List<DecayGroup>();
            sums = new double[4 * terms.Length];
            var weightsOffset = 2 * terms.Length;
            for (var start = 0; start < terms.Length;)
            {
                var end = start + 1;
                while (end < terms.Length && terms[end].HalfLifeTicks == terms[start].HalfLifeTicks
                    && terms[end].OccurredTicks - terms[start].OccurredTicks <= MostHalfLives * terms[start].HalfLifeTicks)
                {
                    end++;
                }

                groups.Add(Build(terms, start, end, start + groups.Count, sums, weightsOffset));
                start = end;
            }

            return [.. groups];
        }

        private static DecayGroup Build(ReadOnlySpan<Term> terms, int start, int end, int pointsFrom, Span<double> sums, int weightsOffset)
        {
            var group = new DecayGroup(start, end, pointsFrom, pointsFrom + weightsOffset, terms[start].HalfLifeTicks, terms[end - 1].OccurredTicks);
            sums[group.PointsFrom] = 0;
            sums[group.WeightsFrom] = 0;
            for (var i = start; i < end; i++)
            {
                var offset = i - start;
                var weight = terms[i].BasePoints * double.Exp2((terms[i].OccurredTicks - group.Reference) / group.HalfLife);
                sums[group.PointsFrom + offset + 1] = sums[group.PointsFrom + offset] + terms[i].BasePoints;
                sums[group.WeightsFrom + offset + 1] = sums[group.WeightsFrom + offset] + weight;
            }

            return group;
        }

        public double PointsAt(long at, long maxAge, ReadOnlySpan<Term> terms, ReadOnlySpan<double> sums)
        {
            // Offsets in the group: those before `counting` expired, those from `stillToOccur` on count in full.
            var stillToOccur = CountAtOrBefore(terms, at);
            var counting = CountAtOrBefore(terms, at - maxAge - 1);
            var points = sums.Slice(PointsFrom, End - Start + 1);
            var weights = sums.Slice(WeightsFrom, End - Start + 1);
            var full = points[^1] - points[stillToOccur];
            if (counting == stillToOccur)
            {
                return full;
            }

            return full + (double.Exp2(-((at - Reference) / HalfLife)) * (weights[stillToOccur] - weights[counting]));
        }

        /// <summary>How many of the group's terms occurred at or before <paramref name="at"/>.</summary>
        private int CountAtOrBefore(ReadOnlySpan<Term> terms, long at)
        {
            int low = Start, high = End;
            while (low < high)
            {
                var middle = (low + high) >>> 1;
                if (terms[middle].OccurredTicks <= at)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }

            return low - Start;
        }
    }

    private static DateTimeOffset RoundUpToSecond(DateTimeOffset at)
    {
        var remainder = at.UtcTicks % TimeSpan.TicksPerSecond;
        return remainder == 0 ? at : at.AddTicks(TimeSpan.TicksPerSecond - remainder);
    }
}
