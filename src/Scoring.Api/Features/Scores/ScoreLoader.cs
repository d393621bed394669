using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using Scoring.Domain.Policies;

namespace Scoring.Api.Features.Scores;

/// <summary>
/// Reads score state from the database for the users the cache could not answer, and puts it back in the
/// cache. A fallback read costs far more than a cache hit, so under overload it must not deepen the
/// overload: concurrent misses for one user share one database read, at most
/// <see cref="CacheOptions.FallbackReads"/> reads run at once with <see cref="CacheOptions.FallbackQueue"/>
/// more waiting, and a call beyond that is shed at once with UNAVAILABLE rather than queued without bound.
/// A call joins only a read that has not started its query yet, so what it is answered was read after it
/// arrived: a write acknowledged before the call is in it. The refill of the cache is not awaited and marks
/// nothing for repair when it fails: the state read carries no change.
/// </summary>
public sealed class ScoreLoader : IDisposable
{
    private readonly IServiceScopeFactory _scopes;
    private readonly IScoreCache _cache;
    private readonly ScoringMetrics _metrics;
    private readonly ConcurrencyLimiter _reads;

    // One entry per (policy version, user) whose read waits for a permit; removed when its query starts.
    private readonly ConcurrentDictionary<(string Policy, string UserId), Task<ScoreState>> _waiting = new();

    public ScoreLoader(IServiceScopeFactory scopes, IScoreCache cache, ScoringMetrics metrics, IOptions<CacheOptions> options)
    {
        _scopes = scopes;
        _cache = cache;
        _metrics = metrics;
        _reads = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.Value.FallbackReads,
            QueueLimit = options.Value.FallbackQueue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>Each user's state under <paramref name="policy"/> at <paramref name="now"/>, from the database.</summary>
    public async ValueTask<Dictionary<string, ScoreState>> LoadAsync(
        IReadOnlyList<string> userIds, ScoringPolicy policy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var pending = new Dictionary<string, Task<ScoreState>>(userIds.Count, StringComparer.Ordinal);
        Dictionary<string, TaskCompletionSource<ScoreState>>? own = null;
        foreach (var userId in userIds)
        {
            if (pending.ContainsKey(userId))
            {
                continue;
            }

            var read = new TaskCompletionSource<ScoreState>(TaskCreationOptions.RunContinuationsAsynchronously);
            var shared = _waiting.GetOrAdd((policy.Version, userId), read.Task);
            pending[userId] = shared;
            if (ReferenceEquals(shared, read.Task))
            {
                (own ??= new(StringComparer.Ordinal))[userId] = read;
                // A caller that gave up before the read ended must not leave its fault unobserved.
                _ = read.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }

        _metrics.FallbackReads("coalesced", pending.Count - (own?.Count ?? 0));
        if (own is not null)
        {
            // Detached from this caller: the others who join it wait with their own deadlines.
            _ = ReadAsync(own, policy, now);
        }

        var states = new Dictionary<string, ScoreState>(pending.Count, StringComparer.Ordinal);
        foreach (var (userId, state) in pending)
        {
            states[userId] = await state.WaitAsync(cancellationToken);
        }

        return states;
    }

    /// <summary>One database read for the users no read was waiting for; its result (or fault) goes to every waiter.</summary>
    private async Task ReadAsync(Dictionary<string, TaskCompletionSource<ScoreState>> own, ScoringPolicy policy, DateTimeOffset now)
    {
        try
        {
            using var permit = await _reads.AcquireAsync(1, CancellationToken.None);
            StopSharing(own, policy);
            if (!permit.IsAcquired)
            {
                _metrics.FallbackReads("shed", own.Count);
                throw new UnavailableException("Too many score reads are waiting for the database; retry later.");
            }

            _metrics.FallbackReads("read", own.Count);
            Dictionary<string, ScoreState> loaded;
            await using (var scope = _scopes.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
                loaded = await db.LoadScoreStatesAsync(own.Keys, policy, now, CancellationToken.None);
            }

            foreach (var (userId, read) in own)
            {
                read.SetResult(loaded[userId]);
                // Read at or after the caller's now: a near copy of it ages from there.
                _cache.Fill(userId, loaded[userId], now);
            }
        }
        catch (Exception exception)
        {
            StopSharing(own, policy);
            foreach (var read in own.Values)
            {
                read.TrySetException(exception);
            }
        }
    }

    /// <summary>From here on, a new call for these users starts a read of its own.</summary>
    private void StopSharing(Dictionary<string, TaskCompletionSource<ScoreState>> own, ScoringPolicy policy)
    {
        foreach (var (userId, read) in own)
        {
            _waiting.TryRemove(new KeyValuePair<(string, string), Task<ScoreState>>((policy.Version, userId), read.Task));
        }
    }

    public void Dispose() => _reads.Dispose();
}
