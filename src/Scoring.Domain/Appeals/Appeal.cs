using Scoring.Domain.Policies;
using Scoring.Domain.Violations;

namespace Scoring.Domain.Appeals;

/// <summary>
/// A user's appeal against one of their violations, and the state machine reviewers move it through:
/// SUBMITTED → IN_REVIEW → UPHELD | OVERTURNED | REDUCED, or WITHDRAWN while open. Decisions are final.
/// Methods refuse illegal transitions with a <see cref="DomainException"/>.
/// </summary>
public sealed class Appeal
{
    // For EF Core materialisation.
    private Appeal()
    {
    }

    public string Id { get; private set; } = null!;
    public string ViolationId { get; private set; } = null!;
    public string UserId { get; private set; } = null!;
    public AppealState State { get; private set; }
    public string Statement { get; private set; } = null!;
    public DateTimeOffset SubmittedAt { get; private set; }
    public DateTimeOffset DueAt { get; private set; }
    public string? Assignee { get; private set; }
    public DateTimeOffset? DecidedAt { get; private set; }
    public string? DecidedBy { get; private set; }
    public AppealDecision Decision { get; private set; }
    public string? Rationale { get; private set; }
    public Severity NewSeverity { get; private set; }

    /// <summary>The caller's idempotency key, if any: a repeated key returns this appeal.</summary>
    public string? RequestId { get; private set; }

    /// <summary>
    /// Opens an appeal. The caller has checked that <paramref name="violation"/> belongs to the user and that
    /// no other appeal is open or decided for it.
    /// </summary>
    public static Appeal Submit(
        Violation violation, string statement, string? requestId, string id, ScoringPolicy policy, DateTimeOffset now)
    {
        if (violation.StatusAt(policy, now) != ViolationStatus.Active)
        {
            throw new DomainException($"violation {violation.Id} is not active, so it cannot be appealed");
        }

        if (now > violation.AppealableUntil)
        {
            throw new DomainException($"the appeal window of violation {violation.Id} closed at {violation.AppealableUntil:O}");
        }

        var appeal = new Appeal
        {
            Id = id,
            ViolationId = violation.Id,
            UserId = violation.UserId,
            State = AppealState.Submitted,
            Statement = statement,
            SubmittedAt = Instants.ToMicroseconds(now),
            DueAt = Instants.ToMicroseconds(now + policy.ReviewSla),
            RequestId = string.IsNullOrEmpty(requestId) ? null : requestId,
        };
        violation.TrackAppeal(appeal);
        return appeal;
    }

    /// <summary>SUBMITTED → IN_REVIEW, or a reassignment while IN_REVIEW.</summary>
    public void Assign(string reviewerId, Violation violation)
    {
        if (!State.IsOpen())
        {
            throw new DomainException($"appeal {Id} is {Describe(State)} and can no longer be assigned");
        }

        RequireIndependentReviewer(reviewerId, violation);
        Assignee = reviewerId;
        State = AppealState.InReview;
        violation.TrackAppeal(this);
    }

    /// <summary>
    /// Decides the appeal and applies the decision to the violation. From SUBMITTED any independent
    /// reviewer may decide (and becomes the assignee); from IN_REVIEW only the assignee.
    /// </summary>
    public void Decide(
        string reviewerId, AppealDecision decision, Severity newSeverity, string rationale,
        Violation violation, ScoringPolicy policy, DateTimeOffset now)
    {
        switch (DecisionBarFor(reviewerId, violation))
        {
            case DecisionBar.Decided:
                throw new DomainException($"appeal {Id} was already decided ({Describe(State)}); decisions are final");
            case DecisionBar.NotOpen:
                throw new DomainException($"appeal {Id} is {Describe(State)} and cannot be decided");
            case DecisionBar.OwnCall:
                throw new DomainException($"reviewer '{reviewerId}' made the contested call and cannot review it");
            case DecisionBar.HeldByAnother:
                throw new DomainException($"appeal {Id} is assigned to another reviewer; reassign it before deciding");
        }

        switch (decision)
        {
            case AppealDecision.Uphold:
                State = AppealState.Upheld;
                break;
            case AppealDecision.Overturn:
                violation.Overturn();
                State = AppealState.Overturned;
                break;
            case AppealDecision.Reduce:
                violation.Reduce(newSeverity, policy);
                State = AppealState.Reduced;
                NewSeverity = newSeverity;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(decision), decision, "A decision is UPHOLD, OVERTURN or REDUCE.");
        }

        Assignee = reviewerId;
        Decision = decision;
        DecidedBy = reviewerId;
        DecidedAt = Instants.ToMicroseconds(now);
        Rationale = rationale;
        violation.TrackAppeal(this);
    }

    /// <summary>
    /// Why <paramref name="reviewerId"/> may not decide this appeal now (<see cref="DecisionBar.None"/> when
    /// they may): the rule <see cref="Decide"/> enforces, for a caller that wants to say so beforehand.
    /// </summary>
    public DecisionBar DecisionBarFor(string reviewerId, Violation violation) => State switch
    {
        _ when State.IsDecided() => DecisionBar.Decided,
        not (AppealState.Submitted or AppealState.InReview) => DecisionBar.NotOpen,
        _ when violation.DecidedBy is { } maker && maker == reviewerId => DecisionBar.OwnCall,
        AppealState.InReview when Assignee != reviewerId => DecisionBar.HeldByAnother,
        _ => DecisionBar.None,
    };

    /// <summary>Open and past its due_at.</summary>
    public bool IsOverdueAt(DateTimeOffset now) => State.IsOpen() && DueAt < now;

    /// <summary><see cref="IsOverdueAt"/> as a query can run it (the listings, the queue and its count).</summary>
    public static System.Linq.Expressions.Expression<Func<Appeal, bool>> OverdueAt(DateTimeOffset now) =>
        a => (a.State == AppealState.Submitted || a.State == AppealState.InReview) && a.DueAt < now;

    /// <summary>The user withdraws an open appeal.</summary>
    public void Withdraw(Violation violation, DateTimeOffset now)
    {
        if (!State.IsOpen())
        {
            throw new DomainException($"appeal {Id} is {Describe(State)} and can no longer be withdrawn");
        }

        State = AppealState.Withdrawn;
        DecidedAt = Instants.ToMicroseconds(now);
        violation.TrackAppeal(this);
    }

    /// <summary>Nobody reviews their own call.</summary>
    private static void RequireIndependentReviewer(string reviewerId, Violation violation)
    {
        if (violation.DecidedBy is { } maker && maker == reviewerId)
        {
            throw new DomainException($"reviewer '{reviewerId}' made the contested call and cannot review it");
        }
    }

    private static string Describe(AppealState state) => state switch
    {
        AppealState.InReview => "in review",
        _ => state.ToString().ToLowerInvariant(),
    };
}
