using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;
using Microsoft.Extensions.Options;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using StackExchange.Redis;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Short-lived copies of Redis entries in this process, so a hot-path read that hits costs no round trip
/// (the performance run measured a Redis round trip at more than half of a cached GetScore). Every write
/// to Redis, from any replica, publishes a change notice (<see cref="RedisScoreCache.ChangeChannel"/>);
/// on a notice this process drops its older copy. A copy expires <see cref="CacheOptions.LocalTtl"/> after
/// the read or write that made it began, so it lags a write on another replica by the pub/sub delay, and
/// never by more than that TTL whatever happens to the notice. While the subscription is down no copy is
/// used or kept, all are dropped when it comes back, and none is kept from a read begun before that.
/// </summary>
public sealed partial class NearScoreCache : IScoreCache, IDisposable
{
    private readonly RedisScoreCache _redis;
    private readonly IConnectionMultiplexer _connection;
    private readonly ScoringMetrics _metrics;
    private readonly ILogger<NearScoreCache> _logger;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Action<RedisChannel, RedisValue> _onNotice;
    private readonly MemoryCache _copies;
    private volatile bool _listening;

    // When the subscription was last confirmed: a read begun before it may hold what a missed notice replaced.
    private DateTimeOffset _listeningSince = DateTimeOffset.MaxValue;

    public NearScoreCache(
        RedisScoreCache redis, IConnectionMultiplexer connection, IOptions<CacheOptions> options, TimeProvider timeProvider, ScoringMetrics metrics,
        ILogger<NearScoreCache> logger)
    {
        _redis = redis;
        _connection = connection;
        _metrics = metrics;
        _logger = logger;
        _ttl = options.Value.LocalTtl;
        _time = timeProvider;
        // The copies age by the service's clock, so the bound on a copy's age is what tests hold it to.
        _copies = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.InProcessCapacity, Clock = new Clock(timeProvider) });
        _onNotice = (_, notice) => OnNotice(notice);

        connection.ConnectionFailed += (_, e) => OnSubscriptionChanged(e.ConnectionType, up: false);
        connection.ConnectionRestored += (_, e) => OnSubscriptionChanged(e.ConnectionType, up: true);
        Subscribe();
    }

    public async ValueTask<ScoreState?[]> GetAsync(IReadOnlyList<string> userIds, CancellationToken cancellationToken)
    {
        if (!_listening)
        {
            return await _redis.GetAsync(userIds, cancellationToken);
        }

        var states = new ScoreState?[userIds.Count];
        List<int>? misses = null;
        for (var i = 0; i < userIds.Count; i++)
        {
            if (_copies.Get(userIds[i]) is Copy { State: var state })
            {
                states[i] = state;
            }
            else
            {
                (misses ??= []).Add(i);
            }
        }

        if (misses is null)
        {
            return states;
        }

        var started = _time.GetUtcNow();
        var fetched = await _redis.GetAsync([.. misses.Select(i => userIds[i])], cancellationToken);
        for (var m = 0; m < misses.Count; m++)
        {
            if (fetched[m] is { } state)
            {
                states[misses[m]] = state;
                Keep(userIds[misses[m]], state, started);
            }
        }

        return states;
    }

    public async ValueTask<bool> SetAsync(string userId, ScoreState state, CancellationToken cancellationToken)
    {
        var started = _time.GetUtcNow();
        var written = await _redis.SetAsync(userId, state, cancellationToken);
        if (written)
        {
            Keep(userId, state, started);
        }
        else
        {
            // Redis may hold something older: no copy here until a later write or read succeeds. Removed by
            // user id as well, in case the notice entry that maps the hash to it was evicted.
            lock (_gate)
            {
                _copies.Remove(userId);
            }

            Forget(ScoreCacheKeys.Tag(userId), state.Version);
        }

        return written;
    }

    public void Fill(string userId, ScoreState state, DateTimeOffset readStarted)
    {
        _redis.Fill(userId, state, readStarted);
        // A copy of what the database holds: a notice of a newer write, from any replica, still drops it.
        Keep(userId, state, readStarted);
    }

    public void Dispose() => _copies.Dispose();

    /// <summary>
    /// Keeps a copy of what a read or write begun at <paramref name="started"/> found, until the TTL from then,
    /// unless one at least as new is held, a notice of a newer version came first, the TTL is already over,
    /// or notices may have been missed since the read began (the subscription is down, or came back after it).
    /// </summary>
    private void Keep(string userId, ScoreState state, DateTimeOffset started)
    {
        // Hashing only here, on misses and writes: hits look copies up by user id.
        var noticeKey = NoticeKey(ScoreCacheKeys.Tag(userId));
        var expires = started + _ttl;
        lock (_gate)
        {
            if (!_listening || started < _listeningSince || expires <= _time.GetUtcNow())
            {
                return;
            }

            var notice = _copies.Get(noticeKey) as Notice;
            if (notice?.MinimumVersion > state.Version || (_copies.Get(userId) is Copy { State: var current } && !state.Supersedes(current)))
            {
                return;
            }

            _copies.Set(userId, new Copy(state), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpiration = expires });
            _copies.Set(noticeKey, new Notice(userId, Math.Max(notice?.MinimumVersion ?? 0, state.Version)), Options());
        }
    }

    /// <summary>Drops the copy of the user behind <paramref name="tag"/> if older than <paramref name="version"/>, and refuses older copies for a while.</summary>
    private void Forget(string tag, long version)
    {
        var noticeKey = NoticeKey(tag);
        lock (_gate)
        {
            var notice = _copies.Get(noticeKey) as Notice;
            if (notice?.UserId is { } userId && _copies.Get(userId) is Copy { State.Version: var held } && held >= version)
            {
                return;
            }

            if (notice?.UserId is { } stale)
            {
                _copies.Remove(stale);
            }

            // Kept as a tombstone: a read already in flight must not bring back what this notice replaced.
            _copies.Set(noticeKey, new Notice(notice?.UserId, Math.Max(notice?.MinimumVersion ?? 0, version)), Options());
        }
    }

    // User ids contain no whitespace, so no user id is ever a notice key.
    private static string NoticeKey(string tag) => "notice " + tag;

    private MemoryCacheEntryOptions Options() => new() { Size = 1, AbsoluteExpirationRelativeToNow = _ttl };

    // In the background: a slow or absent Redis must not hold up start-up or a call. Until the
    // subscription is confirmed, reads go to Redis. Unsubscribing first keeps exactly one handler
    // however many reconnects subscribe again.
    private void Subscribe() => _ = Task.Run(async () =>
    {
        try
        {
            var subscriber = _connection.GetSubscriber();
            await subscriber.UnsubscribeAsync(RedisScoreCache.ChangeChannel, _onNotice);
            await subscriber.SubscribeAsync(RedisScoreCache.ChangeChannel, _onNotice);
            if (subscriber.IsConnected(RedisScoreCache.ChangeChannel))
            {
                lock (_gate)
                {
                    _listeningSince = _time.GetUtcNow();
                    _listening = true;
                }
            }
        }
        catch (Exception exception)
        {
            // Retried when the connection comes back.
            LogSubscriptionFailed(exception);
        }
    });

    private void OnNotice(RedisValue notice)
    {
        if (RedisScoreCache.TryParseChangeNotice(notice, out var key, out var version))
        {
            Forget(key, version);
        }

        _metrics.CacheChangeNotice();
    }

    private void OnSubscriptionChanged(ConnectionType type, bool up)
    {
        if (type != ConnectionType.Subscription)
        {
            return;
        }

        // Notices may have been missed while down: every copy is suspect. Cleared in place, never
        // swapped and disposed, so a read racing this reconnect finds an empty cache, not a disposed one.
        lock (_gate)
        {
            _listening = false;
            _copies.Clear();
        }

        if (up)
        {
            Subscribe();
        }
        else
        {
            _metrics.CacheError("subscription");
            LogSubscriptionDown("connection lost");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Score change notices are not arriving ({Reason}); reads go to Redis until they do")]
    private partial void LogSubscriptionDown(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscribing to score change notices failed; reads go to Redis until it succeeds")]
    private partial void LogSubscriptionFailed(Exception exception);

    private sealed record Copy(ScoreState State);

    /// <summary>The cache's clock, read from the injected time provider.</summary>
    private sealed class Clock(TimeProvider timeProvider) : ISystemClock
    {
        public DateTimeOffset UtcNow => timeProvider.GetUtcNow();
    }

    /// <summary>What a change notice for one hash needs: whose copy to drop, and the oldest version still welcome.</summary>
    private sealed record Notice(string? UserId, long MinimumVersion);
}
