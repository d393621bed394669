[assembly: AssemblyFixture(typeof(Scoring.Api.Tests.Infrastructure.TestServers))]

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL and one Redis for the whole test run; test classes take their own database. The
/// production engines beside them (a Redis Cluster, PgBouncer in front of the PostgreSQL) start the
/// first time a test asks for them.
/// </summary>
public sealed class TestServers : IAsyncLifetime
{
    private readonly Lazy<Task<RedisClusterServer>> _redisCluster = new(() => RedisClusterServer.StartNewAsync(TimeSpan.FromSeconds(15)));
    private Lazy<Task<PgBouncerServer>> _pgBouncer = null!;

    public PostgresServer Postgres { get; private set; } = null!;
    public RedisServer Redis { get; private set; } = null!;

    /// <summary>Three masters with a replica each; tests must not kill its nodes (a failover test starts its own).</summary>
    public Task<RedisClusterServer> RedisClusterAsync() => _redisCluster.Value;

    /// <summary>PgBouncer in transaction mode in front of <see cref="Postgres"/>.</summary>
    public Task<PgBouncerServer> PgBouncerAsync() => _pgBouncer.Value;

    public async ValueTask InitializeAsync()
    {
        var postgres = PostgresServer.StartAsync();
        var redis = RedisServer.StartNewAsync();
        Postgres = await postgres;
        Redis = await redis;
        _pgBouncer = new(() => PgBouncerServer.StartAsync(Postgres));
    }

    public async ValueTask DisposeAsync()
    {
        // A server that failed to start stopped what it had started; the others are stopped whatever happened.
        if (_pgBouncer.IsValueCreated && _pgBouncer.Value.IsCompletedSuccessfully)
        {
            await _pgBouncer.Value.Result.DisposeAsync();
        }

        if (_redisCluster.IsValueCreated && _redisCluster.Value.IsCompletedSuccessfully)
        {
            await _redisCluster.Value.Result.DisposeAsync();
        }

        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
