using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Domain.Scores;

namespace Scoring.Api.Features.Scores;

/// <summary>
/// Reads scores the fast way: cached state first, the database only for misses, through the bounded
/// <see cref="ScoreLoader"/>. Shared by every use case that answers with a score. One instance for the
/// process: a hit touches no database context, scope or lock.
/// </summary>
public sealed class ScoreReader(IScoreCache cache, ScoreLoader loader, ActivePolicy activePolicy, TimeProvider timeProvider, ScoringMetrics metrics)
{
    public ValueTask<Score> GetAsync(string userId, bool includeBreakdown, CancellationToken cancellationToken)
    {
        var scores = GetManyAsync([userId], includeBreakdown, cancellationToken);
        return scores.IsCompletedSuccessfully ? new ValueTask<Score>(scores.Result[0]) : FirstAsync(scores);

        static async ValueTask<Score> FirstAsync(ValueTask<Score[]> scores) => (await scores)[0];
    }

    /// <summary>One score per user id, in the order given (duplicates allowed).</summary>
    public async ValueTask<Score[]> GetManyAsync(IReadOnlyList<string> userIds, bool includeBreakdown, CancellationToken cancellationToken)
    {
        var policy = activePolicy.Current;
        var now = timeProvider.GetUtcNow();
        var states = await cache.GetAsync(userIds, cancellationToken);

        List<string>? misses = null;
        for (var i = 0; i < states.Length; i++)
        {
            if (states[i] is not { } state || state.PolicyVersion != policy.Version)
            {
                states[i] = null;
                (misses ??= []).Add(userIds[i]);
            }
        }

        metrics.CacheLookups(hits: states.Length - (misses?.Count ?? 0), misses: misses?.Count ?? 0);
        if (misses is not null)
        {
            var loaded = await loader.LoadAsync(misses, policy, now, cancellationToken);
            for (var i = 0; i < states.Length; i++)
            {
                states[i] ??= loaded[userIds[i]];
            }
        }

        var scores = new Score[states.Length];
        for (var i = 0; i < states.Length; i++)
        {
            scores[i] = ScoreCalculator.Compute(policy, states[i]!.Violations, now, includeBreakdown);
        }

        return scores;
    }
}
