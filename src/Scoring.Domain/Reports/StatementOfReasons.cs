using System.Globalization;
using Scoring.Domain.Policies;
using Scoring.Domain.Violations;

namespace Scoring.Domain.Reports;

/// <summary>
/// A statement of reasons (DSA Art. 17) for one violation, in the field shape of the Commission's
/// transparency database (Art. 24(5)). It carries the violation's id as the platform's unique id and
/// nothing about the user: no user id, no evidence reference. Fields the service cannot know (the
/// content's type, the platform's content decision) are for the platform to add before submitting.
/// </summary>
public sealed record StatementOfReasons(
    string Puid,
    string DecisionGround,
    string? IllegalContentLegalGround,
    string? IncompatibleContentGround,
    string? Category,
    string? DecisionAccount,
    string? DecisionFacts,
    string AutomatedDetection,
    string AutomatedDecision,
    string ContentDate,
    string ApplicationDate,
    string? SourceType)
{
    /// <summary>
    /// The statement for <paramref name="violation"/>: what happened to the account is what its recording did
    /// (<see cref="Violation.AccountDecision"/>, kept when it was recorded, whatever came after). A violation
    /// reported without a decision ground was decided under the platform's terms: incompatible content.
    /// </summary>
    public static StatementOfReasons For(Violation violation, ScoringPolicy policy)
    {
        var illegal = violation.DecisionGround == Violations.DecisionGround.IllegalContent;
        return new StatementOfReasons(
            Puid: violation.Id,
            DecisionGround: illegal ? "DECISION_GROUND_ILLEGAL_CONTENT" : "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            IllegalContentLegalGround: illegal ? violation.LegalGround : null,
            IncompatibleContentGround: illegal ? null : violation.LegalGround,
            Category: policy.FindCategory(violation.Category)?.DsaCategory,
            DecisionAccount: violation.AccountDecision.ToDsa(),
            DecisionFacts: violation.Note,
            AutomatedDetection: violation.Automated ? "Yes" : "No",
            AutomatedDecision: violation.Automated ? "AUTOMATED_DECISION_FULLY" : "AUTOMATED_DECISION_NOT_AUTOMATED",
            ContentDate: Date(violation.OccurredAt),
            ApplicationDate: Date(violation.RecordedAt),
            SourceType: policy.SourceTypes.GetValueOrDefault(violation.Source));
    }

    /// <summary>The database takes dates as YYYY-MM-DD (UTC).</summary>
    private static string Date(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
