using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Features.Scores;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Appeals;
using Scoring.Domain.Audit;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Privacy;

/// <summary>Everything held about a user, for an access request (GDPR Art. 15).</summary>
public sealed record ExportUserDataQuery(string UserId) : IQuery<UserDataExport>;

public sealed record UserDataExport(
    string UserId,
    DateTimeOffset ExportedAt,
    IReadOnlyList<Violation> Violations,
    IReadOnlyList<Appeal> Appeals,
    Score Score,
    IReadOnlyList<AuditEntry> AuditEntries,
    IReadOnlyList<Standings.FeedItem> StandingChanges);

public sealed class ExportUserDataQueryValidator : AbstractValidator<ExportUserDataQuery>
{
    public ExportUserDataQueryValidator() => RuleFor(q => q.UserId).UserId();
}

public sealed class ExportUserDataQueryHandler(ScoringDbContext db, ScoreReader scores, TimeProvider timeProvider)
    : IQueryHandler<ExportUserDataQuery, UserDataExport>
{
    public async ValueTask<UserDataExport> Handle(ExportUserDataQuery query, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var violations = await db.Violations.AsNoTracking().Where(v => v.UserId == query.UserId)
            .OrderByDescending(v => v.OccurredAt).ThenByDescending(v => v.Id).ToListAsync(cancellationToken);
        var appeals = await db.Appeals.AsNoTracking().Where(a => a.UserId == query.UserId)
            .OrderBy(a => a.SubmittedAt).ThenBy(a => a.Id).ToListAsync(cancellationToken);
        var audit = await db.AuditEntries.AsNoTracking().Where(e => e.UserId == query.UserId)
            .OrderBy(e => e.Sequence).ToListAsync(cancellationToken);

        var changes = await db.StandingChanges.AsNoTracking().Where(c => c.UserId == query.UserId)
            .OrderBy(c => c.TransactionId).ThenBy(c => c.Sequence).ToListAsync(cancellationToken);

        var score = await scores.GetAsync(query.UserId, includeBreakdown: true, cancellationToken);
        return new UserDataExport(
            query.UserId, now, violations, appeals, score, audit, [.. changes.Select(c => new Standings.FeedItem(Revision.Of(c), c.ToChange()))]);
    }
}
