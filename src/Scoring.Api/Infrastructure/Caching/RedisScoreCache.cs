using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Scoring.Api.Infrastructure.Telemetry;
using Scoring.Api.Options;
using StackExchange.Redis;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>
/// Score state in Redis, one hash per user (fields v: version, p: policy version, d: state), written
/// with a compare-and-set script so a slow writer never replaces a newer entry. Every command touches
/// one key, so it works on Redis Cluster. Faults never reach callers: reads miss, and after a failed
/// write this process reads that user from the database until a write succeeds (other replicas are
/// covered by <see cref="ScoreCacheSyncService"/>, from the mark the write left in the database).
/// </summary>
public sealed partial class RedisScoreCache : IScoreCache
{
    // KEYS[1] entry; ARGV: version, policy version, state, ttl seconds. Same rule as ScoreState.Supersedes.
    private const string CompareAndSetScript = """
        local current = redis.call('HMGET', KEYS[1], 'v', 'p')
        local version = tonumber(ARGV[1])
        if current[1] then
          local held = tonumber(current[1])
          if held > version or (held == version and current[2] == ARGV[2]) then
            return 0
          end
        end
        redis.call('HSET', KEYS[1], 'v', ARGV[1], 'p', ARGV[2], 'd', ARGV[3])
        redis.call('EXPIRE', KEYS[1], ARGV[4])
        return 1
        """;

    /// <summary>
    /// Every write publishes "version:tag" here (tag: the user's hash), so replicas holding near copies
    /// (<see cref="NearScoreCache"/>) drop older ones.
    /// </summary>
    public static readonly RedisChannel ChangeChannel = RedisChannel.Literal("scoring:v2:score-changed");

    private readonly IConnectionMultiplexer _redis;
    private readonly ResiliencePipeline<RedisValue[]> _reads;
    private readonly ResiliencePipeline<bool> _writes;
    private readonly long _ttlSeconds;
    private readonly int _writeReplicas;
    private readonly long _replicaWaitMilliseconds;
    private readonly ScoringMetrics _metrics;
    private readonly ILogger<RedisScoreCache> _logger;

    // Users whose last cache write failed here, with that write's version: their entry may be stale.
    private readonly ConcurrentDictionary<string, long> _unsynced = new(StringComparer.Ordinal);

    // Hot entries decoded once while their bytes stay the same.
    private readonly DecodedStates _decoded = new();

    // The read breakers' states: while either is open, refills are not sent to a Redis that is not reading.
    private readonly CircuitBreakerStateProvider _readsDead = new();
    private readonly CircuitBreakerStateProvider _readsStalled = new();

    public RedisScoreCache(IConnectionMultiplexer redis, IOptions<CacheOptions> options, ScoringMetrics metrics, ILogger<RedisScoreCache> logger)
    {
        _redis = redis;
        _metrics = metrics;
        _logger = logger;
        _ttlSeconds = (long)Math.Ceiling(options.Value.EntryTtl.TotalSeconds);
        _writeReplicas = options.Value.WriteReplicas;
        _replicaWaitMilliseconds = Math.Max(1, (long)(options.Value.WriteTimeout.TotalMilliseconds / 2));
        metrics.ObserveCacheAvailability(() => _redis.IsConnected);

        // Real time on purpose: these are I/O timeouts, not domain time.
        // Reads and writes each stop trying a failing Redis for a while. A write refused by the open breaker
        // fails at once: its mark is already in the database, so nothing waits out a timeout for a hung Redis.
        _reads = Pipeline<RedisValue[]>(options.Value, options.Value.ReadTimeout, _readsDead, _readsStalled);
        _writes = Pipeline<bool>(options.Value, options.Value.WriteTimeout);
    }

    /// <summary>
    /// A slow Redis is not a dead one. Refused or dropped connections open the breaker when half the calls
    /// fail; timeouts open it only when nearly all calls time out (a stalled Redis), because a Redis that
    /// is merely loaded still answers most reads in time, and sending all of them to the database instead
    /// would deepen the overload rather than relieve it.
    /// Typed by the result, so no strategy needs a bridge from untyped outcomes (each bridge was another
    /// async state machine allocated on every cached read).
    /// </summary>
    internal static ResiliencePipeline<T> Pipeline<T>(
        CacheOptions options, TimeSpan timeout, CircuitBreakerStateProvider? dead = null, CircuitBreakerStateProvider? stalled = null) =>
        new ResiliencePipelineBuilder<T>()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<T>
            {
                FailureRatio = 0.5,
                MinimumThroughput = 10,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = options.BreakDuration,
                StateProvider = dead,
                ShouldHandle = new PredicateBuilder<T>().Handle<Exception>(e => IsRedisFault(e) && !IsTimeout(e) && e is not (BrokenCircuitException or OperationCanceledException)),
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<T>
            {
                FailureRatio = 0.9,
                MinimumThroughput = 20,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = options.BreakDuration,
                StateProvider = stalled,
                ShouldHandle = new PredicateBuilder<T>().Handle<Exception>(IsTimeout),
            })
            .AddTimeout(timeout)
            .Build();

    private static bool IsTimeout(Exception exception) => exception is TimeoutException or Polly.Timeout.TimeoutRejectedException;

    public async ValueTask<ScoreState?[]> GetAsync(IReadOnlyList<string> userIds, CancellationToken cancellationToken)
    {
        var states = new ScoreState?[userIds.Count];
        using var activity = TelemetryExtensions.ActivitySource.StartActivity("redis HGET score");
        activity?.SetTag("db.system", "redis");
        activity?.SetTag("scoring.cache.keys", userIds.Count);
        try
        {
            var values = await _reads.ExecuteAsync(
                static (state, token) =>
                {
                    var (db, ids) = state;
                    if (ids.Count == 1)
                    {
                        // GetScore, the hot path: one command, no array of tasks.
                        return new ValueTask<RedisValue[]>(ReadOneAsync(db.HashGetAsync(ScoreCacheKeys.Entry(ids[0]), "d"), token));
                    }

                    // One round trip: the commands are pipelined, one key each (no cross-slot MGET).
                    var reads = new Task<RedisValue>[ids.Count];
                    for (var i = 0; i < ids.Count; i++)
                    {
                        reads[i] = db.HashGetAsync(ScoreCacheKeys.Entry(ids[i]), "d");
                    }

                    return new ValueTask<RedisValue[]>(Task.WhenAll(reads).WaitAsync(token));
                },
                (_redis.GetDatabase(), userIds),
                cancellationToken);

            for (var i = 0; i < values.Length; i++)
            {
                if (values[i].HasValue && !_unsynced.ContainsKey(userIds[i]))
                {
                    states[i] = _decoded.Decode((byte[])values[i]!);
                }
            }
        }
        catch (Exception exception) when (IsCacheFault(exception, cancellationToken))
        {
            _metrics.CacheError("read");
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            LogReadFailed(exception);
        }

        return states;
    }

    private static async Task<RedisValue[]> ReadOneAsync(Task<RedisValue> read, CancellationToken token) => [await read.WaitAsync(token)];

    public async ValueTask<bool> SetAsync(string userId, ScoreState state, CancellationToken cancellationToken)
    {
        using var activity = TelemetryExtensions.ActivitySource.StartActivity("redis EVALSHA score compare-and-set");
        activity?.SetTag("db.system", "redis");
        try
        {
            var payload = JsonSerializer.SerializeToUtf8Bytes(state, ScoreStateJsonContext.Default.ScoreState);
            await _writes.ExecuteAsync(
                static async (args, token) =>
                {
                    var (cache, userId, state, payload) = args;
                    var key = ScoreCacheKeys.Entry(userId);
                    await cache._redis.GetDatabase().ScriptEvaluateAsync(
                        CompareAndSetScript, [key], [state.Version, state.PolicyVersion, payload, cache._ttlSeconds]).WaitAsync(token);
                    if (cache._writeReplicas > 0)
                    {
                        // On the key's node, over the connection that carried the write: WAIT counts the
                        // replicas that hold every write this connection sent before it.
                        var held = (long)await cache._redis.GetServer(key)
                            .ExecuteAsync("WAIT", cache._writeReplicas, cache._replicaWaitMilliseconds).WaitAsync(token);
                        if (held < cache._writeReplicas)
                        {
                            throw new RedisException($"the write reached {held} of {cache._writeReplicas} replicas in time");
                        }
                    }

                    return true;
                },
                (this, userId, state, payload),
                cancellationToken);

            Announce(userId, state.Version);

            // Written, or refused for a newer entry: either way Redis is now at least as new as this state.
            if (_unsynced.TryGetValue(userId, out var failed) && failed <= state.Version)
            {
                // Compare-and-remove: a later failed version recorded meanwhile keeps its mark.
                _unsynced.TryRemove(new KeyValuePair<string, long>(userId, failed));
            }

            return true;
        }
        catch (Exception exception) when (IsCacheFault(exception, cancellationToken))
        {
            _unsynced.AddOrUpdate(userId, state.Version, (_, held) => Math.Max(held, state.Version));
            _metrics.CacheError("write");
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            LogWriteFailed(exception);
            return false;
        }
    }

    public void Fill(string userId, ScoreState state, DateTimeOffset readStarted)
    {
        if (_unsynced.ContainsKey(userId))
        {
            // A user whose write failed here is read from the database until a write of this process
            // succeeds: this one is tracked, so once Redis holds it the user is served from Redis again,
            // even if another replica's sweep already cleared the database's mark.
            _ = SetAsync(userId, state, CancellationToken.None).AsTask().ContinueWith(
                static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return;
        }

        if (_readsDead.CircuitState is CircuitState.Open or CircuitState.Isolated
            || _readsStalled.CircuitState is CircuitState.Open or CircuitState.Isolated)
        {
            // Fire-and-forget commands would pile up in the client for a Redis that answers nothing.
            return;
        }

        try
        {
            // Not through the write pipeline, and not awaited: a fill waits for nothing and blocks no reply.
            // A Redis that is down fails it at once (fail-fast backlog).
            var payload = JsonSerializer.SerializeToUtf8Bytes(state, ScoreStateJsonContext.Default.ScoreState);
            _redis.GetDatabase().ScriptEvaluate(
                CompareAndSetScript,
                [ScoreCacheKeys.Entry(userId)],
                [state.Version, state.PolicyVersion, payload, _ttlSeconds],
                CommandFlags.FireAndForget);
        }
        catch (Exception exception) when (IsRedisFault(exception))
        {
            _metrics.CacheError("fill");
        }
    }

    public static bool TryParseChangeNotice(RedisValue notice, out string tag, out long version)
    {
        var text = (string?)notice ?? "";
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        tag = colon < 0 ? "" : text[(colon + 1)..];
        return long.TryParse(text.AsSpan(0, Math.Max(colon, 0)), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out version)
            && tag.Length > 0;
    }

    // Fire and forget: a lost notice only keeps a near copy until its short TTL ends.
    private void Announce(string userId, long version) =>
        _redis.GetSubscriber().Publish(
            ChangeChannel, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{version}:{ScoreCacheKeys.Tag(userId)}"), CommandFlags.FireAndForget);

    /// <summary>
    /// A fault of Redis or of the way to it, which the cache absorbs: unreachable, timed out (by the
    /// client or by Polly), refused by the server, the breaker open. Not a caller's own cancellation, and
    /// not a bug here (a state that no longer serialises, say): those reach the caller.
    /// </summary>
    private static bool IsCacheFault(Exception exception, CancellationToken cancellationToken) =>
        !(exception is OperationCanceledException && cancellationToken.IsCancellationRequested) && IsRedisFault(exception);

    private static bool IsRedisFault(Exception exception) => exception
        is RedisException
        or TimeoutException
        or Polly.Timeout.TimeoutRejectedException
        or BrokenCircuitException
        or IsolatedCircuitException
        or OperationCanceledException
        // The connection closed under a call at shutdown.
        or ObjectDisposedException;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Score cache read failed; reading from the database")]
    private partial void LogReadFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Score cache write failed; a replica will repair the entry")]
    private partial void LogWriteFailed(Exception exception);
}
