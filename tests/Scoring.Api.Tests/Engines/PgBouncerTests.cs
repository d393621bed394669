using Npgsql;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Engines;

/// <summary>
/// PgBouncer in transaction mode between the service and PostgreSQL: many client connections share a
/// few server connections. (Every contract suite also runs through it: the PgBouncer* test classes.)
/// </summary>
public sealed class PgBouncerTests(TestServers servers)
{
    private const int Concurrent = 64;

    [Fact]
    public async Task Many_concurrent_calls_share_the_poolers_few_server_connections()
    {
        var pgBouncer = await servers.PgBouncerAsync();
        var direct = await servers.Postgres.CreateDatabaseAsync();
        var database = new NpgsqlConnectionStringBuilder(direct).Database!;
        // No Redis: every read is a database read, so the calls need connections at once.
        using var app = ScoringApp.OnPostgres(pgBouncer.Through(direct), redis: null);
        var users = Enumerable.Range(0, 8).Select(_ => NewUserId()).ToList();
        foreach (var user in users)
        {
            await app.Scoring.RecordViolationAsync(Violation(user, "spam", Severity.Medium));
        }

        var reads = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(async i =>
            (await app.Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = users[i % users.Count] })).Violations.Count));

        Assert.All(reads, count => Assert.Equal(1, count));
        var (clients, serverConnections) = await pgBouncer.PoolAsync(database);
        Assert.InRange(serverConnections, 1, PgBouncerServer.PoolSize);
        Assert.True(clients > PgBouncerServer.PoolSize, $"the service opened {clients} connections to the pooler; more than {PgBouncerServer.PoolSize} expected from {Concurrent} concurrent reads");
        Assert.InRange(await BackendsAsync(database), 1, PgBouncerServer.PoolSize);
    }

    /// <summary>The server processes PostgreSQL itself runs for <paramref name="database"/>.</summary>
    private async Task<long> BackendsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(servers.Postgres.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", connection)
        {
            Parameters = { new() { Value = database } },
        };
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
