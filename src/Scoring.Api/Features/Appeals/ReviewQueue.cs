using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Appeals;
using Severity = Scoring.Domain.Severity;

namespace Scoring.Api.Features.Appeals;

/// <summary>
/// The reviewers' queue: appeals matching the filters, oldest first, each with its violation's category and
/// severity, and how many appeals are in each state.
/// </summary>
/// <param name="State">Null means the open states, SUBMITTED and IN_REVIEW.</param>
/// <param name="Assignee">Only the appeals this reviewer holds.</param>
/// <param name="UnassignedOnly">Only the appeals nobody holds.</param>
/// <param name="OverdueOnly">Only open appeals past their due_at.</param>
public sealed record ReviewQueueQuery(
    AppealState? State, string? Assignee, bool UnassignedOnly, bool OverdueOnly, string? Category, int Limit) : IQuery<ReviewQueue>;

/// <param name="Overdue">Open appeals past their due_at, whatever the filters.</param>
public sealed record ReviewQueue(IReadOnlyList<QueuedAppeal> Appeals, IReadOnlyDictionary<AppealState, int> CountsByState, int Overdue, DateTimeOffset AsOf);

public sealed record QueuedAppeal(Appeal Appeal, string Category, Severity Severity, string? DecidedBy);

public sealed class ReviewQueueQueryValidator : AbstractValidator<ReviewQueueQuery>
{
    public ReviewQueueQueryValidator()
    {
        RuleFor(q => q.State)
            .Must(s => s is null or (>= AppealState.Submitted and <= AppealState.Withdrawn))
            .WithMessage("{PropertyName} must be an APPEAL_STATE other than UNSPECIFIED");
        RuleFor(q => q.Assignee!).Identifier(128).When(q => !string.IsNullOrEmpty(q.Assignee));
        RuleFor(q => q.Category!).Identifier(64).When(q => !string.IsNullOrEmpty(q.Category));
        RuleFor(q => q.Limit).InclusiveBetween(1, 500);
    }
}

public sealed class ReviewQueueQueryHandler(ScoringDbContext db, TimeProvider timeProvider) : IQueryHandler<ReviewQueueQuery, ReviewQueue>
{
    public async ValueTask<ReviewQueue> Handle(ReviewQueueQuery query, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var open = AppealStates.Open;
        var states = query.State is { } state ? [state] : open;
        var appeals = db.Appeals.AsNoTracking().Where(a => states.Contains(a.State));
        if (!string.IsNullOrEmpty(query.Assignee))
        {
            appeals = appeals.Where(a => a.Assignee == query.Assignee);
        }

        if (query.UnassignedOnly)
        {
            appeals = appeals.Where(a => a.Assignee == null);
        }

        if (query.OverdueOnly)
        {
            appeals = appeals.Where(Appeal.OverdueAt(now));
        }

        var rows = appeals.Join(db.Violations, a => a.ViolationId, v => v.Id, (a, v) => new { Appeal = a, v.Category, v.Severity, v.DecidedBy });
        if (!string.IsNullOrEmpty(query.Category))
        {
            rows = rows.Where(r => r.Category == query.Category);
        }

        var page = await rows
            .OrderBy(r => r.Appeal.SubmittedAt).ThenBy(r => r.Appeal.Id)
            .Take(query.Limit)
            .ToListAsync(cancellationToken);
        var counts = await db.Appeals.AsNoTracking()
            .GroupBy(a => a.State)
            .Select(g => new { State = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.State, g => g.Count, cancellationToken);
        var overdue = await db.Appeals.AsNoTracking().CountAsync(Appeal.OverdueAt(now), cancellationToken);

        return new ReviewQueue(
            [.. page.Select(r => new QueuedAppeal(r.Appeal, r.Category, r.Severity, r.DecidedBy))], counts, overdue, now);
    }
}
