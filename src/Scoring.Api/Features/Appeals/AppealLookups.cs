using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Appeals;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Appeals;

/// <summary>Loads what appeal use cases act on, with NOT_FOUND for what is missing or belongs to someone else.</summary>
internal static class AppealLookups
{
    public const int MaxIdLength = 64;

    /// <summary>The appeal, tracked; another user's appeal is reported as missing, so existence does not leak.</summary>
    public static async Task<Appeal> FindAppealAsync(this ScoringDbContext db, string appealId, string? userId, CancellationToken cancellationToken)
    {
        var appeal = await db.Appeals.SingleOrDefaultAsync(a => a.Id == appealId, cancellationToken);
        return appeal is not null && (userId is null || appeal.UserId == userId)
            ? appeal
            : throw new NotFoundException($"appeal '{appealId}' was not found");
    }

    /// <summary>The violation, tracked; another user's violation is reported as missing.</summary>
    public static async Task<Violation> FindViolationAsync(this ScoringDbContext db, string violationId, string? userId, CancellationToken cancellationToken)
    {
        var violation = await db.Violations.SingleOrDefaultAsync(v => v.Id == violationId, cancellationToken);
        return violation is not null && (userId is null || violation.UserId == userId)
            ? violation
            : throw new NotFoundException($"violation '{violationId}' was not found");
    }

    /// <summary>Whose record an appeal belongs to, read before taking that user's lock.</summary>
    public static async Task<string> OwnerOfAppealAsync(this ScoringDbContext db, string appealId, CancellationToken cancellationToken) =>
        await db.Appeals.AsNoTracking().Where(a => a.Id == appealId).Select(a => a.UserId).SingleOrDefaultAsync(cancellationToken)
        ?? throw new NotFoundException($"appeal '{appealId}' was not found");
}
