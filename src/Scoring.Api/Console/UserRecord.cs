using Mediator;
using Scoring.Api.Features.Appeals;
using Scoring.Api.Features.Audit;
using Scoring.Api.Features.Scores;
using Scoring.Api.Features.Violations;
using Scoring.Domain.Appeals;
using Scoring.Domain.Audit;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;

namespace Scoring.Api.Console;

/// <summary>Everything the console shows about one user, read through the same queries as the gRPC services.</summary>
public sealed record UserRecord(
    string UserId, Score Score, IReadOnlyList<Violation> Violations, IReadOnlyList<Appeal> Appeals,
    IReadOnlyList<AuditEntry> Audit, ChainVerification Chain, bool Truncated)
{
    // A page shows at most this many of each; a user with more gets a note saying so.
    public const int Shown = 200;

    /// <param name="auditTarget">Only the audit entries about this appeal or violation; null for the user's whole chain.</param>
    public static async Task<UserRecord> LoadAsync(ISender sender, string userId, string? auditTarget, CancellationToken cancellationToken)
    {
        var score = await sender.Send(new GetScoreQuery(userId, IncludeBreakdown: true), cancellationToken);
        var violations = await sender.Send(new ListViolationsQuery(userId, Shown, null, IncludeInactive: true), cancellationToken);
        var appeals = await sender.Send(new ListAppealsQuery(AllStates, null, userId, false, Shown, null), cancellationToken);
        var audit = await sender.Send(new ListAuditEntriesQuery(auditTarget is null ? userId : null, auditTarget, Shown, null), cancellationToken);
        var chain = await sender.Send(new VerifyAuditChainQuery(userId), cancellationToken);
        var truncated = violations.NextPageToken is not null || appeals.NextPageToken is not null || audit.NextPageToken is not null;
        return new UserRecord(userId, score, violations.Violations, appeals.Appeals, audit.Entries, chain, truncated);
    }

    private static readonly IReadOnlyList<AppealState> AllStates = [.. Enum.GetValues<AppealState>().Where(s => s != AppealState.Unspecified)];

    public bool ChainVerifies => Chain.FirstBrokenSequence is null && Chain.Break == AuditChainBreak.None;

    public string ChainSummary => ChainVerifies
        ? $"verifies ({Chain.EntriesChecked} entries checked)"
        : Chain.Break switch
        {
            AuditChainBreak.UnknownKey => $"does not verify: entry {Chain.FirstBrokenSequence} names key '{Chain.UnknownKeyId}', which no configured key has",
            AuditChainBreak.Unkeyed => "does not verify: the chain has no keyed entry",
            _ => $"does not verify: broken at entry {Chain.FirstBrokenSequence}",
        };
}
