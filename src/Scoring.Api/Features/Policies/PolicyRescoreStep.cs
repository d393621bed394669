using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Domain;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using Scoring.Domain.Standings;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// One page of the pass after an activation: the next users (in order of id) whose standing is recorded,
/// scored now under the activated version. Those whose standing differs from the recorded one, or whose
/// standing now drops earlier than the drop on record, go through <see cref="UserRecordWriter"/> with cause
/// _POLICY, which records the change in the feed (and the new drop instant) under their lock. A user
/// written twice (a page redone after a crash) finds the standing already recorded, so each change is
/// recorded once. A pass whose version is no longer active stops: the next activation's pass covers everyone.
/// </summary>
public sealed class PolicyRescoreStep(
    ScoringDbContext db, ScoringPolicy policy, ActivePolicy active, ActivePolicyRefresher refresher, UserRecordWriter writer, TimeProvider timeProvider)
{
    public async Task<PolicyJobPage> RunPageAsync(PolicyJob job, int pageSize, CancellationToken cancellationToken)
    {
        // The policy this scope (and its writer) scores under. When it is not the pass's version, this replica
        // may not have seen the activation yet: once it has, the next page, in a new scope, does the work.
        if (policy.Version != job.CandidateVersion)
        {
            await refresher.RefreshAsync(db, cancellationToken);
            return active.Current.Version == job.CandidateVersion
                ? new PolicyJobPage(Finished: false, job.Cursor, 0, null)
                : new PolicyJobPage(Finished: true, null, 0, $"superseded by {active.Current.Version}");
        }

        var recorded = db.UserScoreVersions.AsNoTracking().Where(r => r.Standing != Standing.Unspecified);
        if (job.UsersTotal == 0)
        {
            job.Count(await recorded.LongCountAsync(cancellationToken));
        }

        // Added only when there is one: "cursor is null or ..." would keep the database from seeking the index.
        var after = recorded;
        if (job.Cursor is { } cursor)
        {
            after = after.Where(r => string.Compare(r.UserId, cursor) > 0);
        }

        var users = await after
            .OrderBy(r => r.UserId)
            .Take(pageSize)
            .Select(r => new { r.UserId, r.Standing, r.StandingDropsAt })
            .ToListAsync(cancellationToken);
        if (users.Count == 0)
        {
            return new PolicyJobPage(Finished: true, null, 0, null);
        }

        var now = timeProvider.GetUtcNow();
        var counting = await db.LoadCountingAsync([.. users.Select(u => u.UserId)], policy, now, cancellationToken);
        var changed = users
            .Where(u => ScoreCalculator.Compute(policy, [.. counting[u.UserId]], now) is var score
                && (score.Standing != u.Standing || (score.StandingImprovesAt is { } drops && (u.StandingDropsAt is null || drops < u.StandingDropsAt))))
            .Select(u => u.UserId)
            .ToArray();
        if (changed.Length > 0)
        {
            await writer.WriteManyAsync(changed, (record, _) =>
            {
                record.Cause = StandingChangeCause.Policy;
                return Task.FromResult(true);
            }, cancellationToken);
        }

        return new PolicyJobPage(Finished: false, users[^1].UserId, users.Count, null);
    }
}
