[assembly: AssemblyFixture(typeof(Scoring.Api.Tests.Infrastructure.TestServers))]

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL and one Redis for the whole test run; test classes take their own database. The
/// production engines beside them (a Redis Cluster, PgBouncer in front of the PostgreSQL) start the
/// first time a test asks for them.
/// </summary>
public sealed class TestServers : IAsyncLifetime
{
    private readonly Lazy<Task<RedisClusterServer>> _redisCluster = new(RedisClusterServer.StartNewAsync);
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
        if (_pgBouncer.IsValueCreated)
        {
            await (await _pgBouncer.Value).DisposeAsync();
        }

        if (_redisCluster.IsValueCreated)
        {
            await (await _redisCluster.Value).DisposeAsync();
        }

        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
