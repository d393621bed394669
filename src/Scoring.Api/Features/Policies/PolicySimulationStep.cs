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

        var cursor = job.Cursor;
        var users = await active
            .Where(v => cursor == null || string.Compare(v.UserId, cursor) > 0)
            .Select(v => v.UserId)
            .Distinct()
            .OrderBy(u => u)
            .Take(pageSize)
            .ToListAsync(cancellationToken);
        if (users.Count == 0)
        {
            return new PolicyJobPage(Finished: true, null, 0, null);
        }

        var violations = await active.Where(v => users.Contains(v.UserId)).Scored().ToListAsync(cancellationToken);
        var byUser = violations.ToLookup(v => v.UserId, v => v.Scored, StringComparer.Ordinal);
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
