using Scoring.Domain.Appeals;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Common;

/// <summary>The state names audit entries record: the contract's enum names, lower case, without prefix.</summary>
public static class AuditStates
{
    public static string Of(ViolationStatus status) => status switch
    {
        ViolationStatus.Active => "active",
        ViolationStatus.Overturned => "overturned",
        ViolationStatus.Expired => "expired",
        _ => "unspecified",
    };

    public static string? Of(AppealState state) => state switch
    {
        AppealState.Unspecified => null,
        AppealState.InReview => "in_review",
        _ => state.ToString().ToLowerInvariant(),
    };

    public static string Of(AppealDecision decision) => decision.ToString().ToLowerInvariant();
}
