using Scoring.Api.Features.Audit;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Security;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// Puts each state change of a policy version on the system audit chain, in the same unit of work as the
/// change: who, which version, from which state to which, and the SHA-256 of its rules (so the chain also
/// proves what content each state change was about).
/// </summary>
public sealed class PolicyAudit(ScoringDbContext db, IIdGenerator ids, AuditKeyring keys, Caller caller)
{
    /// <param name="actor">Who acted when it is not the caller (the service itself, at start).</param>
    public Task RecordAsync(
        PolicyVersion version, string action, PolicyVersionState before, string reason, CancellationToken cancellationToken, string? actor = null) =>
        db.AppendSystemAuditAsync(
            new AuditChange(
                Actor: actor ?? caller.Author(),
                Action: action,
                TargetId: version.Version,
                Reason: reason,
                BeforeState: before == PolicyVersionState.Unspecified ? null : Name(before),
                AfterState: $"{Name(version.State)} sha256:{version.ContentHash}"),
            ids,
            keys,
            version.UpdatedAt,
            cancellationToken);

    private static string Name(PolicyVersionState state) => state.ToString().ToUpperInvariant();
}
