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
/// The refill of the cache is not awaited and marks nothing for repair when it fails: the state read is
/// no newer than what the database already tracks.
/// </summary>
public sealed class ScoreLoader : IDisposable
{
    private readonly IServiceScopeFactory _scopes;
    private readonly IScoreCache _cache;
    private readonly ScoringMetrics _metrics;
    private readonly ConcurrencyLimiter _reads;

    // One entry per (policy version, user) whose read is under way; removed once it has its result.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Policy, string UserId), Task<ScoreState>> _inFlight = new();

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

            var key = (policy.Version, userId);
            if (_inFlight.TryGetValue(key, out var running))
            {
                pending[userId] = running;
                continue;
            }

            var read = new TaskCompletionSource<ScoreState>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_inFlight.TryAdd(key, read.Task))
            {
                (own ??= new(StringComparer.Ordinal))[userId] = read;
                pending[userId] = read.Task;
            }
            else
            {
                pending[userId] = _inFlight[key];
            }
        }

        _metrics.ScoreReads("coalesced", pending.Count - (own?.Count ?? 0));
        if (own is not null)
        {
            await ReadAsync(own, policy, now, cancellationToken);
        }

        var states = new Dictionary<string, ScoreState>(pending.Count, StringComparer.Ordinal);
        foreach (var (userId, state) in pending)
        {
            states[userId] = await state.WaitAsync(cancellationToken);
        }

        return states;
    }

    /// <summary>One database read for the users this call found no read under way for; its result (or fault) goes to every waiter.</summary>
    private async Task ReadAsync(
        Dictionary<string, TaskCompletionSource<ScoreState>> own, ScoringPolicy policy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            using var permit = await _reads.AcquireAsync(1, cancellationToken);
            if (!permit.IsAcquired)
            {
                _metrics.ScoreReads("shed", own.Count);
                throw new UnavailableException("Too many score reads are waiting for the database; retry later.");
            }

            _metrics.ScoreReads("read", own.Count);
            Dictionary<string, ScoreState> loaded;
            await using (var scope = _scopes.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
                // Not the caller's token: other calls may be waiting for this read.
                loaded = await db.LoadScoreStatesAsync(own.Keys, policy, now, CancellationToken.None);
            }

            foreach (var (userId, read) in own)
            {
                _inFlight.TryRemove((policy.Version, userId), out _);
                read.SetResult(loaded[userId]);
                _cache.Fill(userId, loaded[userId]);
            }
        }
        catch (Exception exception)
        {
            // The caller's own cancellation fails the others as UNAVAILABLE: they may retry.
            var shared = exception is OperationCanceledException
                ? new UnavailableException("A score read was abandoned; retry.")
                : exception;
            foreach (var (userId, read) in own)
            {
                _inFlight.TryRemove((policy.Version, userId), out _);
                read.TrySetException(shared);
            }

            throw;
        }
    }

    public void Dispose() => _reads.Dispose();
}
