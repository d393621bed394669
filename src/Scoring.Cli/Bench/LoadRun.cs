using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Scoring.V1;

namespace Scoring.Cli.Bench;

/// <summary>What one load run asks for.</summary>
/// <param name="WarmUp">
/// How long to run the same load before measuring, uncounted: the service's just-in-time compiler (and this
/// driver's) reaches its optimised code only after tens of seconds of load on a small machine, so a run
/// measured from a cold start understates the steady state a long-running service sees.
/// </param>
public sealed record LoadSettings(
    string Scenario, int Concurrency, int Channels, TimeSpan Duration, int Population, double Skew, int Seed, bool SeedData, TimeSpan WarmUp = default);

/// <summary>What one load run measured.</summary>
public sealed record LoadResult(
    string Scenario, long Calls, double Seconds, double CallsPerSecond,
    double P50Ms, double P95Ms, double P99Ms, double MaxMs, IReadOnlyDictionary<string, long> Errors);

/// <summary>
/// Keeps a fixed number of calls in flight over several HTTP/2 connections for a fixed time, and records
/// every call's latency. The population's scores are seeded first, so reads hit real data.
/// </summary>
/// <remarks>
/// A call refused with RESOURCE_EXHAUSTED (over the rate limit) or UNAVAILABLE makes its worker back off
/// (<see cref="Backoff"/>) instead of asking again at once: spinning through refusals measures nothing and
/// only burns the CPU the service needs.
/// </remarks>
public sealed class LoadRun(LoadSettings settings, IReadOnlyList<Clients> channels, Metadata headers, Action<string> progress, TimeProvider? time = null)
{
    public static readonly string[] Scenarios = ["read", "batch-read", "write", "batch-write", "mixed"];
    private const int BatchSize = 100;

    private readonly Zipf _users = new(settings.Population, settings.Skew);
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private long _sequence;

    public async Task<LoadResult> RunAsync(CancellationToken cancellationToken)
    {
        if (settings.SeedData)
        {
            await SeedAsync(cancellationToken);
        }

        if (settings.WarmUp > TimeSpan.Zero)
        {
            progress($"warming up for {settings.WarmUp.TotalSeconds:0} s (not measured)");
            await RunPhaseAsync(settings.WarmUp, "warm-up ", cancellationToken);
            progress($"measuring for {settings.Duration.TotalSeconds:0} s");
        }

        return await RunPhaseAsync(settings.Duration, "", cancellationToken);
    }

    private async Task<LoadResult> RunPhaseAsync(TimeSpan duration, string label, CancellationToken cancellationToken)
    {
        var latencies = new ConcurrentBag<List<long>>();
        var errors = new ConcurrentDictionary<string, long>();
        var backedOff = new ConcurrentDictionary<StatusCode, long>();
        var clock = time ?? TimeProvider.System;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(duration);
        var started = Stopwatch.GetTimestamp();
        long completed = 0;

        var workers = Enumerable.Range(0, settings.Concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random(settings.Seed * 7919 + worker);
            var backoff = new Backoff(new Random(settings.Seed * 104_729 + worker));
            var client = channels[worker % channels.Count];
            var mine = new List<long>(4096);
            latencies.Add(mine);
            while (!stop.IsCancellationRequested)
            {
                var begin = Stopwatch.GetTimestamp();
                try
                {
                    await CallAsync(client, random, stop.Token);
                    mine.Add(Stopwatch.GetTimestamp() - begin);
                    Interlocked.Increment(ref completed);
                    backoff.Reset();
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    // The run's end cut this call short: not an error of the service.
                }
                catch (RpcException e)
                {
                    errors.AddOrUpdate(e.StatusCode.ToString(), 1, (_, n) => n + 1);
                    if (e.StatusCode is StatusCode.ResourceExhausted or StatusCode.Unavailable)
                    {
                        backedOff.AddOrUpdate(e.StatusCode, 1, (_, n) => n + 1);
                        try
                        {
                            await Task.Delay(backoff.Next(), clock, stop.Token);
                        }
                        catch (OperationCanceledException) when (stop.IsCancellationRequested)
                        {
                            // The run ended during the wait.
                        }
                    }
                }
            }
        }, CancellationToken.None)).ToArray();

        using (var ticker = new PeriodicTimer(TimeSpan.FromSeconds(1)))
        {
            var all = Task.WhenAll(workers);
            while (!all.IsCompleted && await Task.WhenAny(all, ticker.WaitForNextTickAsync(CancellationToken.None).AsTask()) != all)
            {
                Progress();
            }

            await all;
            Progress();
        }

        void Progress()
        {
            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var waiting = backedOff.IsEmpty
                ? ""
                : "  backing off: " + string.Join(", ", backedOff.OrderBy(b => b.Key).Select(b => $"{b.Value} {ToCode(b.Key)}"));
            progress($"{label}{elapsed,6:0.0} s  {Interlocked.Read(ref completed) / elapsed,10:#,0} calls/s  errors {errors.Values.Sum()}{waiting}");
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var sorted = latencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? 0 : Milliseconds(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)]);
        return new LoadResult(
            settings.Scenario, sorted.Length, seconds, sorted.Length / seconds,
            Percentile(0.50), Percentile(0.95), Percentile(0.99), sorted.Length == 0 ? 0 : Milliseconds(sorted[^1]),
            errors.ToDictionary());
    }

    private static string ToCode(StatusCode code) => code == StatusCode.ResourceExhausted ? "RESOURCE_EXHAUSTED" : code.ToString().ToUpperInvariant();

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private string User(Random random) => $"bench-u{_users.Next(random)}";

    private Task CallAsync(Clients client, Random random, CancellationToken token)
    {
        var scenario = settings.Scenario == "mixed" ? (random.NextDouble() < 0.95 ? "read" : "write") : settings.Scenario;
        switch (scenario)
        {
            case "read":
                return client.Scoring.GetScoreAsync(new GetScoreRequest { UserId = User(random) }, headers, cancellationToken: token).ResponseAsync;
            case "batch-read":
                var reads = new GetScoresRequest();
                for (var i = 0; i < BatchSize; i++)
                {
                    reads.UserIds.Add(User(random));
                }

                return client.Scoring.GetScoresAsync(reads, headers, cancellationToken: token).ResponseAsync;
            case "write":
                return client.Scoring.RecordViolationAsync(NewViolation(User(random)), headers, cancellationToken: token).ResponseAsync;
            default:
                var writes = new RecordViolationsRequest();
                for (var i = 0; i < BatchSize; i++)
                {
                    writes.Violations.Add(NewViolation(User(random)));
                }

                return client.Scoring.RecordViolationsAsync(writes, headers, cancellationToken: token).ResponseAsync;
        }
    }

    private RecordViolationRequest NewViolation(string user) => new()
    {
        Source = "bench",
        EventId = $"{_run}-{Interlocked.Increment(ref _sequence)}",
        UserId = user,
        Category = "spam",
        Severity = Severity.Low,
    };

    /// <summary>One violation per user of the population, in batches, so reads find scores to compute.</summary>
    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        progress($"seeding {settings.Population} users");
        for (var from = 0; from < settings.Population; from += 500)
        {
            var batch = new RecordViolationsRequest();
            for (var user = from; user < Math.Min(from + 500, settings.Population); user++)
            {
                batch.Violations.Add(NewViolation($"bench-u{user}"));
            }

            await channels[0].Scoring.RecordViolationsAsync(batch, headers, cancellationToken: cancellationToken);
        }
    }
}
