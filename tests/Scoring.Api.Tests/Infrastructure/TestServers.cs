[assembly: AssemblyFixture(typeof(Scoring.Api.Tests.Infrastructure.TestServers))]

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>One PostgreSQL and one Redis for the whole test run; test classes take their own database.</summary>
public sealed class TestServers : IAsyncLifetime
{
    public PostgresServer Postgres { get; private set; } = null!;
    public RedisServer Redis { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var postgres = PostgresServer.StartAsync();
        var redis = RedisServer.StartNewAsync();
        Postgres = await postgres;
        Redis = await redis;
    }

    public async ValueTask DisposeAsync()
    {
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
