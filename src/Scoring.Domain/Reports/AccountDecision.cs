using Scoring.Domain.Scores;

namespace Scoring.Domain.Reports;

/// <summary>
/// What a violation did to the account, as a statement of reasons reports it (the DSA transparency
/// database's <c>decision_account</c>): decided once, from the score the write that recorded it reached.
/// </summary>
public enum AccountDecision
{
    /// <summary>The account was not restricted (below SUSPENDED), or the violation predates the record.</summary>
    None = 0,

    /// <summary>SUSPENDED, or BANNED for a time.</summary>
    Suspended = 1,

    /// <summary>BANNED for good.</summary>
    Terminated = 2,
}

public static class AccountDecisions
{
    public static AccountDecision Of(Score reached) => reached switch
    {
        { Standing: Standing.Banned, Permanent: true } => AccountDecision.Terminated,
        { Standing: Standing.Suspended or Standing.Banned } => AccountDecision.Suspended,
        _ => AccountDecision.None,
    };

    /// <summary>The database's value: DECISION_ACCOUNT_SUSPENDED, DECISION_ACCOUNT_TERMINATED, or null.</summary>
    public static string? ToDsa(this AccountDecision decision) => decision switch
    {
        AccountDecision.Suspended => "DECISION_ACCOUNT_SUSPENDED",
        AccountDecision.Terminated => "DECISION_ACCOUNT_TERMINATED",
        _ => null,
    };
}
