using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Scoring.Api.Options;

namespace Scoring.Api.Infrastructure.Caching;

/// <summary>The embedded default when no Redis is configured: one process, bounded size, same version rule.</summary>
public sealed class InMemoryScoreCache : IScoreCache, IDisposable
{
    private readonly MemoryCache _entries;
    private readonly TimeSpan _ttl;

    // The version check and the write must be one step; contention is low in a single process.
    private readonly Lock _gate = new();

    public InMemoryScoreCache(IOptions<CacheOptions> options)
    {
        _ttl = options.Value.EntryTtl;
        _entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.InProcessCapacity });
    }

    public ValueTask<ScoreState?[]> GetAsync(IReadOnlyList<string> userIds, CancellationToken cancellationToken)
    {
        var states = new ScoreState?[userIds.Count];
        for (var i = 0; i < userIds.Count; i++)
        {
            states[i] = _entries.Get(userIds[i]) as ScoreState;
        }

        return ValueTask.FromResult(states);
    }

    public ValueTask<bool> SetAsync(string userId, ScoreState state, CancellationToken cancellationToken)
    {
        Put(userId, state);
        return ValueTask.FromResult(true);
    }

    // The only copy there is, in this one process: no other replica can have made it stale.
    public void Fill(string userId, ScoreState state, DateTimeOffset readStarted) => Put(userId, state);

    private void Put(string userId, ScoreState state)
    {
        lock (_gate)
        {
            if (_entries.Get<ScoreState>(userId) is not { } current || state.Supersedes(current))
            {
                _entries.Set(userId, state, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = _ttl });
            }
        }
    }

    public void Dispose() => _entries.Dispose();
}
