using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Domain;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;

namespace Scoring.Benchmarks;

/// <summary>
/// The hot path of a cache hit: decode the cached state, compute the score. The baseline is the bare
/// sum of decayed points, so the figures read as "how much the full model costs over the arithmetic".
/// </summary>
[MemoryDiagnoser]
public class ScoreBenchmarks
{
    private static readonly ScoringPolicy Policy = ScoringPolicy.Default;
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private ScoredViolation[] _violations = [];
    private byte[] _entry = [];
    private ScoreState _state = null!;

    [Params(1, 10, 100, 1000)]
    public int Violations { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var categories = Policy.Categories.Where(c => !c.ZeroTolerance).ToArray();
        // Recent and heavy enough that the standing is above GOOD, so standing_improves_at is searched.
        _violations = [.. Enumerable.Range(0, Violations).Select(i =>
        {
            var category = categories[random.Next(categories.Length)];
            var severity = Violations == 1 ? Severity.High : (Severity)random.Next(1, 4);
            return new ScoredViolation($"v-{i:D6}", category.Name, severity, Now - TimeSpan.FromDays(random.Next(0, 30)));
        })];
        _state = new ScoreState(42, Policy.Version, _violations);
        _entry = JsonSerializer.SerializeToUtf8Bytes(_state, ScoreStateJsonContext.Default.ScoreState);
    }

    [Benchmark(Baseline = true, Description = "sum of decayed points")]
    public double Points() => ScoreCalculator.TotalAt(Policy, _violations, Now);

    [Benchmark(Description = "score with standing_improves_at")]
    public Score Score() => ScoreCalculator.Compute(Policy, _violations, Now);

    [Benchmark(Description = "decode cache entry")]
    public ScoreState? Decode() => JsonSerializer.Deserialize(_entry, ScoreStateJsonContext.Default.ScoreState);

    [Benchmark(Description = "encode cache entry")]
    public byte[] Encode() => JsonSerializer.SerializeToUtf8Bytes(_state, ScoreStateJsonContext.Default.ScoreState);
}
