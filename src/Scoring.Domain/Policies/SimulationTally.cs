using Scoring.Domain.Scores;

namespace Scoring.Domain.Policies;

/// <summary>
/// What a policy simulation has found so far: each user's score under the baseline and the candidate version,
/// computed by <see cref="ScoreCalculator"/> (the same scoring live reads use), folded into counts whose
/// size does not grow with the users: a 5 × 5 standing matrix, a histogram of points deltas, per-category
/// totals, and at most <see cref="SampleSize"/> user ids per changed cell. Plain data, so it is saved with
/// the job's position after every page and a resumed simulation goes on from it.
/// </summary>
public sealed class SimulationTally
{
    /// <summary>Most user ids kept per changed cell (and per ban list) for people to review.</summary>
    public const int SampleSize = 20;

    /// <summary>Users per (baseline standing, candidate standing), indexed by the standings' values (1 GOOD … 5 BANNED) minus one.</summary>
    public long[][] Matrix { get; set; } = [.. Enumerable.Range(0, 5).Select(_ => new long[5])];

    public long Users { get; set; }

    /// <summary>Users whose points differ between the two versions (by more than rounding).</summary>
    public long PointsChanged { get; set; }

    /// <summary>Points deltas (candidate − baseline) of the users whose points change, in buckets of <see cref="DeltaHistogram"/>.</summary>
    public DeltaHistogram Deltas { get; set; } = new();

    public SortedDictionary<string, CategoryTally> Categories { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Users who become permanently banned under the candidate, and users who stop being.</summary>
    public long BecomeBanned { get; set; }
    public long StopBanned { get; set; }
    public List<string> BecomeBannedSample { get; set; } = [];
    public List<string> StopBannedSample { get; set; } = [];

    /// <summary>Samples per changed cell, keyed "FROM>TO" by the standings' values ("2>3").</summary>
    public SortedDictionary<string, List<string>> Samples { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Adds one user: their counting violations, scored at <paramref name="at"/> under both versions.</summary>
    public void Add(string userId, IReadOnlyCollection<ScoredViolation> violations, ScoringPolicy baseline, ScoringPolicy candidate, DateTimeOffset at)
    {
        var before = ScoreCalculator.Compute(baseline, violations, at, includeBreakdown: true, includeImprovesAt: false);
        var after = ScoreCalculator.Compute(candidate, violations, at, includeBreakdown: true, includeImprovesAt: false);
        Users++;
        Matrix[(int)before.Standing - 1][(int)after.Standing - 1]++;
        if (before.Standing != after.Standing && Samples.TryAdd(Cell(before.Standing, after.Standing), [userId]) is false)
        {
            Keep(Samples[Cell(before.Standing, after.Standing)], userId);
        }

        var delta = after.Points - before.Points;
        if (Math.Abs(delta) > 1e-9)
        {
            PointsChanged++;
            Deltas.Add(delta);
        }

        if (!before.Permanent && after.Permanent)
        {
            BecomeBanned++;
            Keep(BecomeBannedSample, userId);
        }
        else if (before.Permanent && !after.Permanent)
        {
            StopBanned++;
            Keep(StopBannedSample, userId);
        }

        foreach (var part in before.Breakdown)
        {
            var category = CategoryOf(part.Violation.Category);
            category.BaselineViolations++;
            category.BaselinePoints += part.CurrentPoints;
        }

        foreach (var part in after.Breakdown)
        {
            var category = CategoryOf(part.Violation.Category);
            category.CandidateViolations++;
            category.CandidatePoints += part.CurrentPoints;
        }
    }

    /// <summary>The users in one cell of the matrix.</summary>
    public long Count(Standing from, Standing to) => Matrix[(int)from - 1][(int)to - 1];

    public static string Cell(Standing from, Standing to) => $"{(int)from}>{(int)to}";

    private static void Keep(List<string> sample, string userId)
    {
        if (sample.Count < SampleSize)
        {
            sample.Add(userId);
        }
    }

    private CategoryTally CategoryOf(string name)
    {
        if (!Categories.TryGetValue(name, out var tally))
        {
            Categories[name] = tally = new CategoryTally();
        }

        return tally;
    }
}

/// <summary>One category's counting violations and their points now, under each version.</summary>
public sealed class CategoryTally
{
    public long BaselineViolations { get; set; }
    public double BaselinePoints { get; set; }
    public long CandidateViolations { get; set; }
    public double CandidatePoints { get; set; }
}

/// <summary>
/// A histogram of signed values in logarithmic buckets 1 % wide, so a percentile is known to within 1 % from
/// a few thousand counters at most, however many values went in. Values within ±0.001 share bucket 0.
/// </summary>
public sealed class DeltaHistogram
{
    private const double Smallest = 1e-3;
    private static readonly double Growth = Math.Log(1.01);

    /// <summary>Counts by bucket: the sign of the value times (1 + the bucket's index above <see cref="Smallest"/>).</summary>
    public SortedDictionary<int, long> Buckets { get; set; } = [];

    public long Count { get; set; }

    public void Add(double value)
    {
        var bucket = Bucket(value);
        Buckets[bucket] = Buckets.GetValueOrDefault(bucket) + 1;
        Count++;
    }

    /// <summary>The value below which <paramref name="fraction"/> of the values lie (nearest rank), to within 1 %; 0 when empty.</summary>
    public double Percentile(double fraction)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(fraction * Count));
        long seen = 0;
        foreach (var (bucket, count) in Buckets)
        {
            seen += count;
            if (seen >= rank)
            {
                return Representative(bucket);
            }
        }

        return Representative(Buckets.Keys.Last());
    }

    private static int Bucket(double value)
    {
        var magnitude = Math.Abs(value);
        if (magnitude < Smallest)
        {
            return 0;
        }

        var index = 1 + (int)Math.Floor(Math.Log(magnitude / Smallest) / Growth);
        return value < 0 ? -index : index;
    }

    // The middle of the bucket (geometrically), so the value returned is within half a bucket of any in it.
    private static double Representative(int bucket) =>
        bucket == 0 ? 0 : Math.Sign(bucket) * Smallest * Math.Exp((Math.Abs(bucket) - 0.5) * Growth);
}
