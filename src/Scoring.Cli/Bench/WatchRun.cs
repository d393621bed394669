using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Scoring.V1;

namespace Scoring.Cli.Bench;

/// <summary>What one watch run measured.</summary>
/// <param name="Delivered">Changes received, summed over watchers.</param>
/// <param name="Missing">Changes written that some watcher never received, summed over watchers.</param>
/// <param name="Duplicates">Changes a watcher received more than once, summed over watchers.</param>
public sealed record WatchResult(
    string Scenario, int Watchers, long ChangesWritten, double ChangesPerSecond, long Delivered, long Missing, long Duplicates,
    double P50DelayMs, double P99DelayMs, double MaxDelayMs, IReadOnlyDictionary<string, long> Errors);

/// <summary>
/// Many watchers of the feed of standing changes on one service while writers record changes at a fixed
/// rate: each write moves a new user from GOOD to RESTRICTED, so each is exactly one change. The delay of
/// a delivery runs from the moment its write was sent to the moment a watcher received the change.
/// </summary>
public sealed class WatchRun(
    int watchers, double rate, TimeSpan duration, IReadOnlyList<Clients> channels, Metadata headers, Action<string> progress)
{
    private const int Writers = 64;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly ConcurrentDictionary<string, long> _sentAt = new();
    private readonly long[] _delayHistogram = new long[60_001];
    private long _sequence;

    public async Task<WatchResult> RunAsync(CancellationToken cancellationToken)
    {
        var errors = new ConcurrentDictionary<string, long>();
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var received = Enumerable.Range(0, watchers).Select(_ => new ConcurrentDictionary<string, int>()).ToArray();
        var ready = new CountdownEvent(watchers);
        var watchTasks = Enumerable.Range(0, watchers)
            .Select(w => Task.Run(() => WatchAsync(channels[w % channels.Count], received[w], ready, errors, watching.Token), CancellationToken.None))
            .ToArray();
        progress($"opening {watchers} watchers");
        await Task.Run(() => ready.Wait(TimeSpan.FromSeconds(60), cancellationToken), cancellationToken);

        progress($"writing {rate:0} changes/s for {duration.TotalSeconds:0} s");
        var started = Stopwatch.GetTimestamp();
        using (var writing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            writing.CancelAfter(duration);
            await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() => WriteAsync(w, started, errors, writing.Token), CancellationToken.None)));
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var written = _sentAt.Count;
        // The last writes still travel: wait (bounded) until every watcher has every change, then stop.
        using (var drain = new PeriodicTimer(TimeSpan.FromMilliseconds(100)))
        {
            var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 30);
            while (received.Any(r => r.Count < written) && Stopwatch.GetTimestamp() < deadline && await drain.WaitForNextTickAsync(cancellationToken))
            {
            }
        }

        await watching.CancelAsync();
        await Task.WhenAll(watchTasks);

        long delivered = received.Sum(r => (long)r.Count);
        long duplicates = received.Sum(r => (long)r.Values.Sum(n => n - 1));
        long missing = received.Sum(r => (long)_sentAt.Keys.Count(user => !r.ContainsKey(user)));
        return new WatchResult(
            "watch", watchers, written, written / seconds, delivered, missing, duplicates,
            Percentile(0.50), Percentile(0.99), Percentile(1.0), errors.ToDictionary());
    }

    private async Task WatchAsync(
        Clients client, ConcurrentDictionary<string, int> received, CountdownEvent ready, ConcurrentDictionary<string, long> errors, CancellationToken token)
    {
        var signalled = false;
        try
        {
            using var call = client.Standings.WatchStandingChanges(new WatchStandingChangesRequest(), headers, cancellationToken: token);
            while (await call.ResponseStream.MoveNext(token))
            {
                var message = call.ResponseStream.Current;
                if (!signalled)
                {
                    // The first message from now is a bookmark: the watcher is subscribed.
                    ready.Signal();
                    signalled = true;
                }

                if (message.Change is { } change && _sentAt.TryGetValue(change.UserId, out var sent))
                {
                    received.AddOrUpdate(change.UserId, 1, (_, n) => n + 1);
                    var delay = (int)Math.Min(_delayHistogram.Length - 1, Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                    Interlocked.Increment(ref _delayHistogram[delay]);
                }
            }
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // The run ended.
        }
        catch (RpcException e)
        {
            errors.AddOrUpdate("watch " + e.StatusCode, 1, (_, n) => n + 1);
        }
        finally
        {
            if (!signalled)
            {
                ready.Signal();
            }
        }
    }

    private async Task WriteAsync(int writer, long started, ConcurrentDictionary<string, long> errors, CancellationToken token)
    {
        var interval = Writers / rate;
        for (var i = 0; !token.IsCancellationRequested; i++)
        {
            // Each writer keeps its share of the rate; one that fell behind does not sleep.
            var due = started + (long)((i + (writer / (double)Writers)) * interval * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            var user = $"watch-{_run}-{Interlocked.Increment(ref _sequence)}";
            _sentAt[user] = Stopwatch.GetTimestamp();
            try
            {
                await channels[writer % channels.Count].Scoring.RecordViolationAsync(
                    new RecordViolationRequest { Source = "bench", EventId = user, UserId = user, Category = "harassment", Severity = Severity.High },
                    headers, cancellationToken: CancellationToken.None);
            }
            catch (RpcException e)
            {
                _sentAt.TryRemove(user, out _);
                errors.AddOrUpdate("write " + e.StatusCode, 1, (_, n) => n + 1);
            }
        }
    }

    private double Percentile(double p)
    {
        var total = _delayHistogram.Sum();
        if (total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(p * total);
        long seen = 0;
        for (var ms = 0; ms < _delayHistogram.Length; ms++)
        {
            seen += _delayHistogram[ms];
            if (seen >= rank)
            {
                return ms;
            }
        }

        return _delayHistogram.Length - 1;
    }
}
