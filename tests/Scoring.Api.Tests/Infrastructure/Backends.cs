namespace Scoring.Api.Tests.Infrastructure;

/// <summary>A running service on one storage configuration, shared by the tests of one class.</summary>
public abstract class Backend : IAsyncLifetime
{
    public ScoringApp App { get; protected set; } = null!;

    /// <summary>
    /// Whether a cache write counts only once a Redis replica holds it (<c>Cache:WriteReplicas</c>): on a
    /// loaded machine such a write can miss its WAIT, and the writing process then reads that user from the
    /// database until Redis takes a later write of it.
    /// </summary>
    public virtual bool CacheWritesWaitForReplicas => false;

    public abstract ValueTask InitializeAsync();

    public virtual ValueTask DisposeAsync()
    {
        App.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Production shape: PostgreSQL and Redis, on the default configuration (near copies kept for a second).</summary>
public sealed class PostgresRedisBackend(TestServers servers) : Backend
{
    public override async ValueTask InitializeAsync()
    {
        App = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        _ = App.Server;
    }
}

/// <summary>The embedded default: a SQLite file and the in-process cache.</summary>
public sealed class SqliteBackend : Backend
{
    private readonly string _directory = Directory.CreateTempSubdirectory("scoring-sqlite-").FullName;

    public override ValueTask InitializeAsync()
    {
        App = ScoringApp.OnSqlite(Path.Combine(_directory, "scoring.db"));
        _ = App.Server;
        return ValueTask.CompletedTask;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Authentication on: JWTs signed with the tests' shared key, on SQLite.</summary>
public sealed class JwtBackend : Backend
{
    private readonly string _directory = Directory.CreateTempSubdirectory("scoring-jwt-").FullName;

    public override ValueTask InitializeAsync()
    {
        App = new ScoringApp(Tokens.JwtSettings(new()
        {
            ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(_directory, "scoring.db")}",
        }));
        _ = App.Server;
        return ValueTask.CompletedTask;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>PostgreSQL through PgBouncer in transaction mode, and Redis with near copies off (every read asks it).</summary>
public sealed class PgBouncerBackend(TestServers servers) : Backend
{
    public override async ValueTask InitializeAsync()
    {
        var pgBouncer = await servers.PgBouncerAsync();
        App = ScoringApp.OnPostgres(
            pgBouncer.Through(await servers.Postgres.CreateDatabaseAsync()), servers.Redis.ConnectionString, more: ScoringApp.StrictReads);
        _ = App.Server;
    }
}

/// <summary>
/// PostgreSQL and a Redis Cluster of three masters with a replica each, near copies off: every read asks the
/// cluster, so batches span its slots.
/// </summary>
public sealed class RedisClusterBackend(TestServers servers) : Backend
{
    public override bool CacheWritesWaitForReplicas => true;

    public override async ValueTask InitializeAsync()
    {
        var cluster = await servers.RedisClusterAsync();
        App = ScoringApp.OnRedisCluster(await servers.Postgres.CreateDatabaseAsync(), cluster.ConnectionString, ScoringApp.StrictReads);
        _ = App.Server;
    }
}
