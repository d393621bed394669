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
/// one key, so it works on Redis Cluster. Faults never reach callers: reads miss, writes are remembered
/// and the user is read from the database (and re-cached) by this process until a write succeeds.
/// </summary>
public sealed partial class RedisScoreCache : IScoreCache
{
    private const string KeyPrefix = "scoring:v1:score:";

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

    private readonly IConnectionMultiplexer _redis;
    private readonly ResiliencePipeline _pipeline;
    private readonly long _ttlSeconds;
    private readonly ScoringMetrics _metrics;
    private readonly ILogger<RedisScoreCache> _logger;

    // Users whose last cache write failed here: their entry may be stale until rewritten.
    private readonly ConcurrentDictionary<string, byte> _unsynced = new(StringComparer.Ordinal);

    public RedisScoreCache(IConnectionMultiplexer redis, IOptions<CacheOptions> options, ScoringMetrics metrics, ILogger<RedisScoreCache> logger)
    {
        _redis = redis;
        _metrics = metrics;
        _logger = logger;
        _ttlSeconds = (long)Math.Ceiling(options.Value.EntryTtl.TotalSeconds);
        // Real time on purpose: these are I/O timeouts, not domain time.
        _pipeline = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 5,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = options.Value.BreakDuration,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
            })
            .AddTimeout(options.Value.Timeout)
            .Build();
    }

    public async ValueTask<ScoreState?[]> GetAsync(IReadOnlyList<string> userIds, CancellationToken cancellationToken)
    {
        var states = new ScoreState?[userIds.Count];
        try
        {
            var values = await _pipeline.ExecuteAsync(
                static async (state, token) =>
                {
                    var (db, ids) = state;
                    // One round trip: the commands are pipelined, one key each (no cross-slot MGET).
                    var reads = new Task<RedisValue>[ids.Count];
                    for (var i = 0; i < ids.Count; i++)
                    {
                        reads[i] = db.HashGetAsync(Key(ids[i]), "d");
                    }

                    return await Task.WhenAll(reads).WaitAsync(token);
                },
                (_redis.GetDatabase(), userIds),
                cancellationToken);

            for (var i = 0; i < values.Length; i++)
            {
                if (values[i].HasValue && !_unsynced.ContainsKey(userIds[i]))
                {
                    states[i] = JsonSerializer.Deserialize((byte[])values[i]!, ScoreStateJsonContext.Default.ScoreState);
                }
            }
        }
        catch (Exception exception) when (IsCacheFault(exception, cancellationToken))
        {
            _metrics.CacheError("read");
            LogReadFailed(exception.GetType().Name);
        }

        return states;
    }

    public async ValueTask SetAsync(string userId, ScoreState state, CancellationToken cancellationToken)
    {
        try
        {
            var payload = JsonSerializer.SerializeToUtf8Bytes(state, ScoreStateJsonContext.Default.ScoreState);
            await _pipeline.ExecuteAsync(
                static async (args, token) =>
                {
                    var (db, key, state, payload, ttl) = args;
                    await db.ScriptEvaluateAsync(
                        CompareAndSetScript,
                        [key],
                        [state.Version, state.PolicyVersion, payload, ttl]).WaitAsync(token);
                },
                (_redis.GetDatabase(), Key(userId), state, payload, _ttlSeconds),
                cancellationToken);

            // Written or refused for a newer entry: either way Redis is now at least as new as the database read.
            _unsynced.TryRemove(userId, out _);
        }
        catch (Exception exception) when (IsCacheFault(exception, cancellationToken))
        {
            _unsynced.TryAdd(userId, 0);
            _metrics.CacheError("write");
            LogWriteFailed(exception.GetType().Name);
        }
    }

    /// <summary>Users whose entry may be stale because a write to it failed here.</summary>
    public IReadOnlyCollection<string> UnsyncedUsers => [.. _unsynced.Keys];

    private static RedisKey Key(string userId) => KeyPrefix + userId;

    // A caller's own cancellation is not a cache fault; everything else from Redis or Polly is.
    private static bool IsCacheFault(Exception exception, CancellationToken cancellationToken) =>
        !(exception is OperationCanceledException && cancellationToken.IsCancellationRequested);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Score cache read failed ({ErrorType}); reading from the database")]
    private partial void LogReadFailed(string errorType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Score cache write failed ({ErrorType}); the entry will be rewritten on the next read")]
    private partial void LogWriteFailed(string errorType);
}
