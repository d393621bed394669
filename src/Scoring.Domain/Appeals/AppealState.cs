namespace Scoring.Domain.Appeals;

/// <summary>Where an appeal stands. Values match the public contract.</summary>
public enum AppealState
{
    Unspecified = 0,
    Submitted = 1,
    InReview = 2,
    Upheld = 3,
    Overturned = 4,
    Reduced = 5,
    Withdrawn = 6,
}

/// <summary>How a reviewer decides an appeal. Values match the public contract.</summary>
public enum AppealDecision
{
    Unspecified = 0,
    Uphold = 1,
    Overturn = 2,
    Reduce = 3,
}

/// <summary>Why a reviewer may not decide an appeal now.</summary>
public enum DecisionBar
{
    /// <summary>They may.</summary>
    None,

    /// <summary>It was decided; decisions are final.</summary>
    Decided,

    /// <summary>It is neither submitted nor in review (withdrawn).</summary>
    NotOpen,

    /// <summary>They made the contested call: nobody reviews their own call.</summary>
    OwnCall,

    /// <summary>Another reviewer holds it; it must be reassigned first.</summary>
    HeldByAnother,
}

public static class AppealStates
{
    /// <summary>The states of <see cref="IsOpen"/> as a set, for queries that must count or filter open appeals the same way.</summary>
    public static readonly IReadOnlyList<AppealState> Open = [AppealState.Submitted, AppealState.InReview];

    /// <summary>Waiting for a decision: the violation is contested.</summary>
    public static bool IsOpen(this AppealState state) => state is AppealState.Submitted or AppealState.InReview;

    /// <summary>Decided, and so final.</summary>
    public static bool IsDecided(this AppealState state) => state is AppealState.Upheld or AppealState.Overturned or AppealState.Reduced;
}
