using System.Linq.Expressions;
using Scoring.Domain.Appeals;
using Scoring.Domain.Violations;

namespace Scoring.Domain.Reports;

/// <summary>
/// What a transparency report keeps of an appeal, written with the appeal and followed through its
/// decision or withdrawal. It holds no user id, statement or rationale, so it stays when retention or
/// erasure deletes the appeal: a report over a past period gives the same figures later.
/// </summary>
public sealed class AppealFact
{
    // For EF Core materialisation.
    private AppealFact()
    {
    }

    /// <summary>The appeal's id: random, and linked to nobody once the appeal itself is gone.</summary>
    public string AppealId { get; private set; } = null!;

    /// <summary>The appealed violation's category.</summary>
    public string Category { get; private set; } = null!;

    /// <summary>Whether the appealed decision was automated (Art. 15(1)(e): the error indicator of automated means).</summary>
    public bool Automated { get; private set; }

    public DateTimeOffset SubmittedAt { get; private set; }

    /// <summary>When the review is due (submitted + the policy's review_sla).</summary>
    public DateTimeOffset DueAt { get; private set; }

    /// <summary>Open (SUBMITTED or IN_REVIEW), decided (UPHELD, OVERTURNED, REDUCED) or WITHDRAWN.</summary>
    public AppealState State { get; private set; }

    /// <summary>When it was decided or withdrawn; null while open.</summary>
    public DateTimeOffset? ClosedAt { get; private set; }

    public static AppealFact Of(Appeal appeal, Violation violation) => new()
    {
        AppealId = appeal.Id,
        Category = violation.Category,
        Automated = violation.Automated,
        SubmittedAt = appeal.SubmittedAt,
        DueAt = appeal.DueAt,
        State = appeal.State,
    };

    /// <summary>Follows the appeal into its final state.</summary>
    public void Follow(Appeal appeal)
    {
        State = appeal.State;
        ClosedAt = appeal.State.IsOpen() ? null : appeal.DecidedAt;
    }

    public bool IsDecided => State.IsDecided();

    /// <summary>Overturned or reduced: the appealed decision did not stand as made.</summary>
    public bool IsReversed => State is AppealState.Overturned or AppealState.Reduced;

    public bool SubmittedIn(ReportPeriod period) => period.Contains(SubmittedAt);

    public bool DecidedIn(ReportPeriod period) => IsDecided && ClosedAt is { } at && period.Contains(at);

    public bool WithdrawnIn(ReportPeriod period) => State == AppealState.Withdrawn && ClosedAt is { } at && period.Contains(at);

    /// <summary>Submitted before the instant and neither decided nor withdrawn by then.</summary>
    public bool IsOpenAt(DateTimeOffset at) => SubmittedAt < at && (ClosedAt is not { } closed || closed >= at);

    public bool WasPastSla => ClosedAt is { } at && at > DueAt;

    public TimeSpan? TimeToDecision => IsDecided && ClosedAt is { } at ? at - SubmittedAt : null;

    /// <summary>
    /// The facts a report over the period looks at: appeals submitted before its end and not closed before
    /// its start (so decisions in the period of appeals submitted before it count, as does what is open).
    /// </summary>
    public static Expression<Func<AppealFact, bool>> AliveDuring(ReportPeriod period)
    {
        var (start, end) = (period.Start, period.End);
        return f => f.SubmittedAt < end && (f.ClosedAt == null || f.ClosedAt >= start);
    }
}
