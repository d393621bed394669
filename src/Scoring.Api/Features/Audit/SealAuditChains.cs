using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;

namespace Scoring.Api.Features.Audit;

/// <summary>
/// The one-off step after upgrading to keyed audit chains (`Scoring.Api seal-audit-chains`): every chain
/// whose last entry predates keys is checked as it stands (SHA-256 links) and, if it verifies, gets one
/// keyed entry (<see cref="AuditActions.ChainSealed"/>) that covers its hash, so it verifies from then on
/// without <c>Audit:AcceptUnkeyedChains</c>. A chain that does not verify is left as it is and reported.
/// Run by the operator, never by the service on its own: otherwise a database writer could rewrite a
/// keyed chain as unkeyed and wait for a restart to have it sealed.
/// </summary>
public sealed partial class AuditChainSealer(ScoringDbContext db, UserRecordWriter writer, AuditKeyring keyring, ILogger<AuditChainSealer> logger)
{
    private const int BatchSize = 100;

    public sealed record Result(int Sealed, IReadOnlyList<string> Broken);

    public async Task<Result> SealAsync(CancellationToken cancellationToken)
    {
        var sealedCount = 0;
        var broken = new List<string>();
        var after = "";
        while (true)
        {
            // Users whose head entry (kept on the lock row) has no key, in pages.
            var users = await db.UserScoreVersions.AsNoTracking()
                .Where(u => string.Compare(u.UserId, after) > 0
                    && db.AuditEntries.Any(e => e.UserId == u.UserId && e.Sequence == u.AuditSequence && e.KeyId == null))
                .OrderBy(u => u.UserId)
                .Select(u => u.UserId)
                .Take(BatchSize)
                .ToListAsync(cancellationToken);
            if (users.Count == 0)
            {
                return new Result(sealedCount, broken);
            }

            foreach (var userId in users)
            {
                if (await SealAsync(userId, cancellationToken))
                {
                    sealedCount++;
                }
                else
                {
                    broken.Add(userId);
                    LogBroken(userId);
                }
            }

            after = users[^1];
        }
    }

    private async Task<bool> SealAsync(string userId, CancellationToken cancellationToken)
    {
        var (sealedNow, _) = await writer.WriteAsync(userId, async (change, token) =>
        {
            // Checked under the user's lock, so what is sealed is what was checked.
            var verifier = new AuditChainVerifier(keyring.AcceptingUnkeyedChains());
            await foreach (var entry in db.AuditEntries.AsNoTracking().Where(e => e.UserId == userId).OrderBy(e => e.Sequence).AsAsyncEnumerable().WithCancellation(token))
            {
                verifier.Add(entry);
            }

            if (verifier.FirstBrokenSequence is not null)
            {
                return false;
            }

            change.Audit(new AuditChange(
                Actor: "system",
                Action: AuditActions.ChainSealed,
                TargetId: userId,
                Reason: $"key_{keyring.Current.Id}",
                ItemCount: verifier.EntriesChecked));
            return true;
        }, cancellationToken);
        return sealedNow;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The audit chain of user {UserId} does not verify as written before keys; left unsealed")]
    private partial void LogBroken(string userId);
}
