using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;

namespace Scoring.Api.Features.Audit;

/// <summary>Recomputes a user's chain from the first entry with the configured audit keys.</summary>
/// <param name="System">The system chain (<see cref="SystemAudit"/>) instead of a user's.</param>
public sealed record VerifyAuditChainQuery(string UserId, bool System = false) : IQuery<ChainVerification>;

/// <param name="FirstBrokenSequence">Null when the chain verifies.</param>
/// <param name="Break">Why the first broken sequence does not verify.</param>
/// <param name="UnknownKeyId">With <see cref="AuditChainBreak.UnknownKey"/>: the key id no configured key has.</param>
public sealed record ChainVerification(long EntriesChecked, long? FirstBrokenSequence, AuditChainBreak Break = AuditChainBreak.None, string? UnknownKeyId = null);

public sealed class VerifyAuditChainQueryValidator : AbstractValidator<VerifyAuditChainQuery>
{
    public VerifyAuditChainQueryValidator()
    {
        RuleFor(q => q.UserId).UserId().When(q => !q.System);
        RuleFor(q => q.UserId).Empty().When(q => q.System).WithMessage("user_id must be empty with system: the system chain is nobody's");
    }
}

public sealed class VerifyAuditChainQueryHandler(ScoringDbContext db, AuditKeyring keyring) : IQueryHandler<VerifyAuditChainQuery, ChainVerification>
{
    public async ValueTask<ChainVerification> Handle(VerifyAuditChainQuery query, CancellationToken cancellationToken)
    {
        // Streamed, so a long chain is never held in memory at once.
        var entries = db.AuditEntries.AsNoTracking()
            .Where(e => e.UserId == (query.System ? SystemAudit.ChainId : query.UserId))
            .OrderBy(e => e.Sequence)
            .AsAsyncEnumerable();

        var verifier = new AuditChainVerifier(keyring);
        await foreach (var entry in entries.WithCancellation(cancellationToken))
        {
            verifier.Add(entry);
        }

        return new ChainVerification(verifier.EntriesChecked, verifier.FirstBrokenSequence, verifier.Break, verifier.UnknownKeyId);
    }
}
