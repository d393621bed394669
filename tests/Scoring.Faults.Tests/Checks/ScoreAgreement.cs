using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Scoring.Faults.Tests.Infrastructure;
using Scoring.Faults.Tests.Load;
using Scoring.V1;

namespace Scoring.Faults.Tests.Checks;

/// <summary>
/// Whether every process answers every user's score as the database says it should be: the violation
/// ids in GetScore's breakdown are exactly the user's counting violations, GetScores counts the same
/// number, and an erased user reads as new.
/// </summary>
public sealed class ScoreAgreement(StoredViolations database, IReadOnlyList<ServiceProcess> processes, Policy policy)
{
    private const int ListedIds = 6;
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Polls until every answer agrees (or <paramref name="within"/> passes), then checks again
    /// <paramref name="rounds"/> times, <paramref name="apart"/> apart, that it still does. The calls
    /// count in <paramref name="outcomes"/>; <paramref name="since"/> names the moment the wait began.
    /// </summary>
    public async Task<AgreementResult> AwaitAsync(
        IReadOnlyList<string> users, IReadOnlySet<string> erased, CallOutcomes outcomes, string since, TimeSpan within, int rounds, TimeSpan apart)
    {
        var clock = Stopwatch.StartNew();
        var disagreements = await CompareAsync(users, erased, outcomes);
        using (var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(500)))
        {
            while (disagreements.Count > 0 && clock.Elapsed < within && await poll.WaitForNextTickAsync())
            {
                disagreements = await CompareAsync(users, erased, outcomes);
            }
        }

        if (disagreements.Count > 0)
        {
            return new AgreementResult(null, [$"still not equal to the database {within.TotalSeconds:0} s after {since}:", .. Cap(disagreements)]);
        }

        var agreedAfter = clock.Elapsed;
        var regressions = new List<string>();
        using var later = new PeriodicTimer(apart);
        for (var round = 1; round <= rounds && await later.WaitForNextTickAsync(); round++)
        {
            var again = await CompareAsync(users, erased, outcomes);
            if (again.Count > 0)
            {
                regressions.Add($"agreed after {agreedAfter.TotalSeconds:0.0} s, then differed again in round {round} " +
                    $"({(clock.Elapsed - agreedAfter).TotalSeconds:0.0} s later):");
                regressions.AddRange(Cap(again));
            }
        }

        return new AgreementResult(agreedAfter, regressions);
    }

    /// <summary>One round: every user on every process, against one read of the database.</summary>
    public async Task<IReadOnlyList<string>> CompareAsync(IReadOnlyList<string> users, IReadOnlySet<string> erased, CallOutcomes outcomes)
    {
        var maxAge = policy.MaxAge.ToTimeSpan();
        var zeroTolerance = policy.Categories.Where(c => c.ZeroTolerance).Select(c => c.Name).ToArray();
        var expected = await database.CountingAsync(users, DateTimeOffset.UtcNow, maxAge, zeroTolerance);
        var disagreements = new ConcurrentBag<string>();

        var reads = processes.SelectMany(p => users.Select(u => (Process: p, User: u)));
        await Parallel.ForEachAsync(reads, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (read, _) =>
        {
            var (process, user) = read;
            var want = Want(expected, erased, user);
            try
            {
                var score = await process.Scoring.GetScoreAsync(
                    new GetScoreRequest { UserId = user, IncludeBreakdown = true }, deadline: DateTime.UtcNow + CallDeadline);
                outcomes.Ok(nameof(ConductScoring.ConductScoringClient.GetScore));
                var got = score.Breakdown.Select(c => c.ViolationId).ToList();
                if (!want.SetEquals(got) || got.Count != want.Count || score.ActiveViolations != want.Count)
                {
                    disagreements.Add($"{process.Name} GetScore {Describe(user, erased)}: {Difference(want, got)}, active_violations {score.ActiveViolations}");
                }
                else if (erased.Contains(user) && (score.Points != 0 || score.ActiveViolations != 0))
                {
                    disagreements.Add($"{process.Name} GetScore {Describe(user, erased)}: expected 0 points and no violations, got {score.Points} points, {score.ActiveViolations} active");
                }
            }
            catch (RpcException exception)
            {
                outcomes.Failed(nameof(ConductScoring.ConductScoringClient.GetScore), exception);
                disagreements.Add($"{process.Name} GetScore {Describe(user, erased)}: failed {exception.StatusCode} ({exception.Status.Detail})");
            }
        });

        foreach (var process in processes)
        {
            var request = new GetScoresRequest();
            request.UserIds.AddRange(users);
            try
            {
                var scores = await process.Scoring.GetScoresAsync(request, deadline: DateTime.UtcNow + CallDeadline);
                outcomes.Ok(nameof(ConductScoring.ConductScoringClient.GetScores));
                foreach (var score in scores.Scores.Where(s => s.ActiveViolations != Want(expected, erased, s.UserId).Count))
                {
                    disagreements.Add($"{process.Name} GetScores {Describe(score.UserId, erased)}: active_violations {score.ActiveViolations}, expected {Want(expected, erased, score.UserId).Count}");
                }

                if (scores.Scores.Count != users.Count)
                {
                    disagreements.Add($"{process.Name} GetScores: {scores.Scores.Count} scores for {users.Count} users");
                }
            }
            catch (RpcException exception)
            {
                outcomes.Failed(nameof(ConductScoring.ConductScoringClient.GetScores), exception);
                disagreements.Add($"{process.Name} GetScores: failed {exception.StatusCode} ({exception.Status.Detail})");
            }
        }

        return [.. disagreements.Order(StringComparer.Ordinal)];
    }

    /// <summary>"expected n ids, got m: missing {..}, unexpected {..}", each list cut short.</summary>
    public static string Difference(IReadOnlySet<string> expected, IReadOnlyList<string> actual)
    {
        var missing = expected.Except(actual).Order(StringComparer.Ordinal).ToList();
        var unexpected = actual.Except(expected).Order(StringComparer.Ordinal).ToList();
        var repeated = actual.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).Order(StringComparer.Ordinal).ToList();
        return $"expected {expected.Count} violation ids, got {actual.Count}: missing {List(missing)}, unexpected {List(unexpected)}" +
            (repeated.Count > 0 ? $", listed twice {List(repeated)}" : "");
    }

    private static string List(IReadOnlyList<string> ids) =>
        ids.Count <= ListedIds ? $"[{string.Join(", ", ids)}]" : $"[{string.Join(", ", ids.Take(ListedIds))}, … +{ids.Count - ListedIds}]";

    // An erased user reads as new whatever the database still holds (its rows are checked on their own).
    private static IReadOnlySet<string> Want(Dictionary<string, HashSet<string>> expected, IReadOnlySet<string> erased, string user) =>
        erased.Contains(user) ? new HashSet<string>() : expected[user];

    private static string Describe(string user, IReadOnlySet<string> erased) => erased.Contains(user) ? $"user {user} (erased)" : $"user {user}";

    private static IEnumerable<string> Cap(IReadOnlyList<string> lines) =>
        lines.Count <= 12 ? lines.Select(l => "  " + l) : [.. lines.Take(12).Select(l => "  " + l), $"  … and {lines.Count - 12} more"];
}

/// <summary>When the answers first agreed with the database (null: never), and what went wrong.</summary>
public sealed record AgreementResult(TimeSpan? AgreedAfter, IReadOnlyList<string> Failures);
