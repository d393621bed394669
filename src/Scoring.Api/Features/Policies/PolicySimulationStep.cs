using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Policies;
using Scoring.Domain.Violations;

namespace Scoring.Api.Features.Policies;

/// <summary>
/// One page of a simulation: the next users (in order of id) with an active violation at its instant, their
/// violations, each user scored under both versions by the domain's scoring, folded into the saved tally.
/// Reads only: no score, cache entry or feed entry is written.
/// </summary>
public sealed class PolicySimulationStep(ScoringDbContext db)
{
    /// <summary>Violations read per page for each user the page is meant to cover.</summary>
    private const int ViolationsPerUser = 4;

    public async Task<PolicyJobPage> RunPageAsync(PolicyJob job, int pageSize, CancellationToken cancellationToken)
    {
        var at = job.AsOf!.Value;
        var baseline = (await db.FindVersionAsync(job.BaselineVersion!, tracked: false, cancellationToken)).Content();
        var candidate = (await db.FindVersionAsync(job.CandidateVersion, tracked: false, cancellationToken)).Content();
        var active = db.Violations.AsNoTracking().Where(v => v.Status == ViolationStatus.Active && v.OccurredAt <= at);
        if (job.UsersTotal == 0)
        {
            job.Count(await active.Select(v => v.UserId).Distinct().LongCountAsync(cancellationToken));
        }

        // Added only when there is one: "cursor is null or ..." would keep the database from seeking the index.
        var after = active;
        if (job.Cursor is { } cursor)
        {
            after = after.Where(v => string.Compare(v.UserId, cursor) > 0);
        }

        // The next violations in order of user: one range of the (user_id, ...) index, which stops at the limit.
        // The last user's may be cut off by it, so they wait for the next page (unless they are all there is).
        var limit = pageSize * ViolationsPerUser;
        var violations = await after.OrderBy(v => v.UserId).Take(limit).Scored().ToListAsync(cancellationToken);
        if (violations.Count == 0)
        {
            return new PolicyJobPage(Finished: true, null, 0, null);
        }

        if (violations.Count == limit)
        {
            var cut = violations[^1].UserId;
            violations.RemoveAll(v => v.UserId == cut);
            if (violations.Count == 0)
            {
                violations = await active.Where(v => v.UserId == cut).Scored().ToListAsync(cancellationToken);
            }
        }

        var byUser = violations.ToLookup(v => v.UserId, v => v.Scored, StringComparer.Ordinal);
        var users = byUser.Select(g => g.Key).ToList();
        var tally = Read(job.Result);
        foreach (var user in users)
        {
            tally.Add(user, [.. byUser[user]], baseline, candidate, at);
        }

        return new PolicyJobPage(Finished: false, users[^1], users.Count, Write(tally));
    }

    public static SimulationTally Read(string? result) =>
        result is null ? new SimulationTally() : JsonSerializer.Deserialize(result, SimulationJsonContext.Default.SimulationTally)!;

    private static string Write(SimulationTally tally) => JsonSerializer.Serialize(tally, SimulationJsonContext.Default.SimulationTally);
}

[JsonSerializable(typeof(SimulationTally))]
internal sealed partial class SimulationJsonContext : JsonSerializerContext;
