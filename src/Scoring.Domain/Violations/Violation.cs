using Scoring.Domain.Appeals;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;

namespace Scoring.Domain.Violations;

/// <summary>A recorded violation. Its facts never change; only its status can (on appeal).</summary>
public sealed class Violation
{
    // For EF Core materialisation.
    private Violation()
    {
    }

    public string Id { get; private set; } = null!;
    public string Source { get; private set; } = null!;
    public string EventId { get; private set; } = null!;
    public string UserId { get; private set; } = null!;
    public string Category { get; private set; } = null!;
    /// <summary>The severity now: as reported, or lower after a reduction on appeal.</summary>
    public Severity Severity { get; private set; }

    /// <summary>The severity the reporter sent; a retry of the report is compared against this.</summary>
    public Severity ReportedSeverity { get; private set; }
    public double BasePoints { get; private set; }
    public DateTimeOffset OccurredAt { get; private set; }
    public DateTimeOffset RecordedAt { get; private set; }
    public string? EvidenceRef { get; private set; }
    public string? Note { get; private set; }
    public string? DecidedBy { get; private set; }
    public bool Automated { get; private set; }

    /// <summary>The stored status: <see cref="ViolationStatus.Active"/> or <see cref="ViolationStatus.Overturned"/>.</summary>
    public ViolationStatus Status { get; private set; }

    public DateTimeOffset AppealableUntil { get; private set; }

    /// <summary>The latest appeal against this violation, if any.</summary>
    public string? AppealId { get; private set; }

    /// <summary>What the decision rests on, as reported (DSA Art. 17).</summary>
    public DecisionGround DecisionGround { get; private set; }

    /// <summary>The law or terms-and-conditions clause relied on, as reported; null when not given.</summary>
    public string? LegalGround { get; private set; }

    /// <summary>
    /// What recording it did to the account (the standing the write reached), for its statement of reasons;
    /// set in the recording transaction once the score is known.
    /// </summary>
    public Reports.AccountDecision AccountDecision { get; private set; }

    /// <summary>The latest appeal's state; <see cref="AppealState.Unspecified"/> when never appealed.</summary>
    public AppealState AppealState { get; private set; }

    /// <summary>Active and under an open appeal.</summary>
    public bool IsContested => Status == ViolationStatus.Active && AppealState.IsOpen();

    /// <summary>Records a report under the policy in force; the category must exist in it.</summary>
    public static Violation Record(ViolationReport report, ScoringPolicy policy, string id, DateTimeOffset now)
    {
        var category = policy.FindCategory(report.Category)
            ?? throw new DomainException($"Category '{report.Category}' is not in policy {policy.Version}.");

        return new Violation
        {
            Id = id,
            Source = report.Source,
            EventId = report.EventId,
            UserId = report.UserId,
            Category = category.Name,
            Severity = report.Severity,
            ReportedSeverity = report.Severity,
            BasePoints = policy.BasePoints(category, report.Severity),
            OccurredAt = Instants.ToMicroseconds(report.OccurredAt ?? now),
            RecordedAt = Instants.ToMicroseconds(now),
            EvidenceRef = NullIfEmpty(report.EvidenceRef),
            Note = NullIfEmpty(report.Note),
            DecidedBy = NullIfEmpty(report.DecidedBy),
            Automated = report.Automated,
            DecisionGround = report.DecisionGround,
            LegalGround = NullIfEmpty(report.LegalGround),
            Status = ViolationStatus.Active,
            AppealableUntil = Instants.ToMicroseconds(now + policy.AppealWindow),
        };
    }

    /// <summary>
    /// Whether a retried report describes this violation. An unset occurred_at matches any time,
    /// because "now" differs on every retry.
    /// </summary>
    public bool IsSameReport(ViolationReport report) =>
        UserId == report.UserId
        && Category == report.Category
        && ReportedSeverity == report.Severity
        && (report.OccurredAt is not { } occurred || Instants.ToMicroseconds(occurred) == OccurredAt)
        && EvidenceRef == NullIfEmpty(report.EvidenceRef)
        && Note == NullIfEmpty(report.Note)
        && DecidedBy == NullIfEmpty(report.DecidedBy)
        && Automated == report.Automated
        && DecisionGround == report.DecisionGround
        && LegalGround == NullIfEmpty(report.LegalGround);

    /// <summary>The status as seen at an instant: an active violation past max_age reads as expired.</summary>
    public ViolationStatus StatusAt(ScoringPolicy policy, DateTimeOffset at) =>
        Status == ViolationStatus.Active && ScoreCalculator.IsExpired(policy, ToScored(), at)
            ? ViolationStatus.Expired
            : Status;

    /// <summary>The contribution at an instant: 0 unless active.</summary>
    public double PointsAt(ScoringPolicy policy, DateTimeOffset at) =>
        Status == ViolationStatus.Active ? ScoreCalculator.PointsAt(policy, ToScored(), at) : 0;

    public ScoredViolation ToScored() => new(Id, Category, Severity, OccurredAt, IsContested);

    /// <summary>Its undecayed points under <paramref name="policy"/> (a version may weigh its category anew); as recorded when the policy lacks its category.</summary>
    public double BasePointsUnder(ScoringPolicy policy) =>
        policy.FindCategory(Category) is { } category ? policy.BasePoints(category, Severity) : BasePoints;

    /// <summary>What recording it did to the account, as far as known (see <see cref="AccountDecision"/>).</summary>
    public void RecordAccountDecision(Reports.AccountDecision decision) => AccountDecision = decision;

    /// <summary>Keeps the latest appeal's id and state beside the violation, where scores and listings read them.</summary>
    internal void TrackAppeal(Appeal appeal)
    {
        AppealId = appeal.Id;
        AppealState = appeal.State;
    }

    /// <summary>Reversed on appeal: it contributes nothing from now on.</summary>
    internal void Overturn()
    {
        if (Status != ViolationStatus.Active)
        {
            throw new DomainException($"violation {Id} is not active");
        }

        Status = ViolationStatus.Overturned;
    }

    /// <summary>Stands at a lower severity; base points follow the policy in force.</summary>
    internal void Reduce(Severity newSeverity, ScoringPolicy policy)
    {
        if (newSeverity is < Severity.Low or > Severity.Critical || newSeverity >= Severity)
        {
            throw new DomainException($"a reduction needs a severity lower than {Severity.ToString().ToUpperInvariant()}");
        }

        var category = policy.FindCategory(Category)
            ?? throw new DomainException($"category '{Category}' is no longer in policy {policy.Version}");
        Severity = newSeverity;
        BasePoints = policy.BasePoints(category, newSeverity);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
