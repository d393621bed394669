using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain;
using Scoring.Domain.Appeals;

namespace Scoring.Api.Features.Standings;

/// <summary>How many users are in each standing now, and how many are contested.</summary>
public sealed record GetStandingCountsQuery : IQuery<StandingCounts>;

public sealed record StandingCounts(IReadOnlyDictionary<Standing, long> UsersByStanding, long ContestedUsers, DateTimeOffset AsOf);

/// <summary>
/// From the standings the feed recorded on each user's row (one grouped count), not by recomputing every
/// user: a standing that dropped by itself is counted once the scan has recorded it.
/// </summary>
public sealed class GetStandingCountsQueryHandler(ScoringDbContext db, TimeProvider time) : IQueryHandler<GetStandingCountsQuery, StandingCounts>
{
    public async ValueTask<StandingCounts> Handle(GetStandingCountsQuery query, CancellationToken cancellationToken)
    {
        var asOf = time.GetUtcNow();
        var counts = await db.CountStandingsAsync(cancellationToken);
        var open = AppealStates.Open;
        var contested = await db.Appeals.AsNoTracking()
            .Where(a => open.Contains(a.State))
            .Select(a => a.UserId).Distinct().LongCountAsync(cancellationToken);
        var byStanding = Enum.GetValues<Standing>().Where(s => s != Standing.Unspecified)
            .ToDictionary(s => s, s => counts.GetValueOrDefault(s));
        return new StandingCounts(byStanding, contested, asOf);
    }
}
