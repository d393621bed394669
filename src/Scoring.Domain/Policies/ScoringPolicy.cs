using Scoring.Domain.Scores;

namespace Scoring.Domain.Policies;

/// <summary>
/// The rules that turn violations into points and points into a standing.
/// Immutable: a change of policy is a new instance with a new <see cref="Version"/>.
/// </summary>
public sealed record ScoringPolicy
{
    public required string Version { get; init; }
    public required SeverityPoints SeverityPoints { get; init; }
    public required IReadOnlyList<CategoryPolicy> Categories
    {
        get => _categories;
        init
        {
            _categories = value ?? [];
            // Rebuilt on every init, so a `with` copy never keeps another instance's lookup.
            _byName = new Dictionary<string, CategoryPolicy>(StringComparer.Ordinal);
            foreach (var category in _categories)
            {
                _byName.TryAdd(category.Name ?? "", category);
            }
        }
    }
    public required Thresholds Thresholds { get; init; }

    /// <summary>Violations older than this expire, except zero-tolerance CRITICAL ones.</summary>
    public required TimeSpan MaxAge { get; init; }

    /// <summary>How long after recording a violation may be appealed.</summary>
    public required TimeSpan AppealWindow { get; init; }

    /// <summary>How long reviewers have to decide an appeal.</summary>
    public TimeSpan ReviewSla { get; init; } = TimeSpan.FromHours(72);

    /// <summary>
    /// The DSA transparency database's source type of each reporting source (<c>mod.queue</c> →
    /// <c>SOURCE_VOLUNTARY</c>, a notice form → <c>SOURCE_ARTICLE_16</c>); empty when none is mapped.
    /// </summary>
    public IReadOnlyDictionary<string, string> SourceTypes
    {
        get => _sourceTypes;
        // A reader that leaves it out (a document written before it existed) may set null.
        init => _sourceTypes = value ?? new Dictionary<string, string>(StringComparer.Ordinal);
    }

    private readonly IReadOnlyDictionary<string, string> _sourceTypes = new Dictionary<string, string>(StringComparer.Ordinal);

    private readonly IReadOnlyList<CategoryPolicy> _categories = [];
    private readonly Dictionary<string, CategoryPolicy> _byName = new(StringComparer.Ordinal);

    /// <summary>The category with this exact name, or null when the policy has none.</summary>
    public CategoryPolicy? FindCategory(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// Whether an active violation is still kept with its user's score state at <paramref name="at"/>: not
    /// older than max_age, or CRITICAL in a zero-tolerance category (which never expires). The database
    /// query that loads score states applies the same rule (ScoreStateQueries.CountingAt in the service).
    /// </summary>
    public bool Counts(ScoredViolation violation, DateTimeOffset at) =>
        violation.OccurredAt >= at - MaxAge
        || (violation.Severity == Severity.Critical && FindCategory(violation.Category) is { ZeroTolerance: true });

    /// <summary>Severity points times the category weight: the undecayed value of a violation.</summary>
    public double BasePoints(CategoryPolicy category, Severity severity) =>
        SeverityPoints.For(severity) * category.Weight;

    /// <summary>The highest tier whose threshold the points reach.</summary>
    public Standing StandingFor(double points) => points switch
    {
        _ when points >= Thresholds.Banned => Standing.Banned,
        _ when points >= Thresholds.Suspended => Standing.Suspended,
        _ when points >= Thresholds.Restricted => Standing.Restricted,
        _ when points >= Thresholds.Warned => Standing.Warned,
        _ => Standing.Good,
    };

    /// <summary>Every problem that makes this policy unusable, each naming its field; empty when it is valid.</summary>
    public IReadOnlyList<PolicyProblem> Validate() => PolicyRules.Check(this);

    /// <summary>The policy the service runs with unless a policy file replaces it.</summary>
    public static ScoringPolicy Default { get; } = new()
    {
        Version = "default-2026-11",
        SeverityPoints = new SeverityPoints(Low: 5, Medium: 15, High: 40, Critical: 100),
        Categories =
        [
            new("spam", 1.0, TimeSpan.FromDays(14)),
            new("harassment", 1.0, TimeSpan.FromDays(30)),
            new("hate_speech", 1.5, TimeSpan.FromDays(60)),
            new("misinformation", 1.0, TimeSpan.FromDays(30)),
            new("fraud", 1.5, TimeSpan.FromDays(90)),
            new("sexual_content", 1.0, TimeSpan.FromDays(30)),
            new("privacy_violation", 1.2, TimeSpan.FromDays(60)),
            new("violent_extremism", 2.0, TimeSpan.FromDays(180), ZeroTolerance: true),
        ],
        Thresholds = new Thresholds(Warned: 8, Restricted: 35, Suspended: 90, Banned: 250),
        MaxAge = TimeSpan.FromDays(365),
        AppealWindow = TimeSpan.FromDays(180),
        ReviewSla = TimeSpan.FromHours(72),
    };
}

/// <summary>Points per severity before the category weight.</summary>
public sealed record SeverityPoints(double Low, double Medium, double High, double Critical)
{
    public double For(Severity severity) => severity switch
    {
        Severity.Low => Low,
        Severity.Medium => Medium,
        Severity.High => High,
        Severity.Critical => Critical,
        _ => throw new ArgumentOutOfRangeException(nameof(severity), severity, "A violation needs a severity."),
    };
}

/// <summary>How a category weighs and decays.</summary>
/// <param name="ZeroTolerance">An active CRITICAL violation here never expires and holds the standing at BANNED.</param>
/// <param name="DsaCategory">
/// The statement category of the DSA transparency database this category reports as
/// (<c>STATEMENT_CATEGORY_SCAMS_AND_FRAUD</c>, …); null when not mapped.
/// </param>
public sealed record CategoryPolicy(string Name, double Weight, TimeSpan HalfLife, bool ZeroTolerance = false, string? DsaCategory = null);

/// <summary>The points at which each standing begins.</summary>
public sealed record Thresholds(double Warned, double Restricted, double Suspended, double Banned);
