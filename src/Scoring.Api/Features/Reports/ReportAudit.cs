using Scoring.Api.Features.Audit;
using Scoring.Api.Features.Common;
using Scoring.Api.Features.Policies;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Security;
using Scoring.Domain.Audit;
using Scoring.Domain.Reports;

namespace Scoring.Api.Features.Reports;

/// <summary>
/// Puts each report run on the system audit chain: who ran which report over which period, never what it
/// said. Two runs audited at the same moment race for one sequence number; the loser reads the new head
/// and appends again.
/// </summary>
public sealed class ReportAudit(ScoringDbContext db, IIdGenerator ids, AuditKeyring keys, Caller caller, TimeProvider timeProvider)
{
    private const int Attempts = 5;

    public async Task RecordAsync(string action, ReportPeriod period, string detail, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await db.AppendSystemAuditAsync(
                    new AuditChange(
                        Actor: caller.Author(),
                        Action: action,
                        TargetId: $"{period.Start:yyyy-MM-dd}/{period.End:yyyy-MM-dd}",
                        Reason: detail),
                    ids,
                    keys,
                    timeProvider.GetUtcNow(),
                    cancellationToken);
                await db.SaveChangesAsync(cancellationToken);
                return;
            }
            catch (Microsoft.EntityFrameworkCore.DbUpdateException exception) when (attempt < Attempts && DatabaseErrors.IsAuditSequenceTaken(exception))
            {
                db.ChangeTracker.Clear();
            }
        }
    }
}
