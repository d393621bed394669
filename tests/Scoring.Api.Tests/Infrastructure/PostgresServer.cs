using Npgsql;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>
/// A throw-away PostgreSQL cluster on a free 127.0.0.1 port, from the Debian package's binaries
/// (tests/run.sh installs them). Each test class asks for its own database.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string User = "postgres";

    private readonly string _bin;
    private readonly string _dataDirectory;
    private int _databases;

    private PostgresServer(string bin, string dataDirectory, int port)
    {
        _bin = bin;
        _dataDirectory = dataDirectory;
        Port = port;
    }

    public int Port { get; }

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinaries();
        var root = Directory.CreateTempSubdirectory("scoring-pg-").FullName;
        var data = Path.Combine(root, "data");
        Directory.CreateDirectory(data);
        if (ExternalProcess.IsRoot)
        {
            await ExternalProcess.RunAsync("chown", ["-R", $"{User}:{User}", root]);
        }

        var server = new PostgresServer(bin, data, ExternalProcess.FreePort());
        await ExternalProcess.RunAsync(Path.Combine(bin, "initdb"),
            ["-D", data, "-U", User, "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"], User);
        await ExternalProcess.RunAsync(Path.Combine(bin, "pg_ctl"),
        [
            "-D", data, "-w", "-t", "60", "-l", Path.Combine(data, "server.log"), "start",
            // Room for every test class's pool at once: each class has its own database, so its own pool,
            // whose idle connections outlive the class by Npgsql's idle lifetime (500 ran out on two runs).
            "-o", $"-p {server.Port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=2000 -c fsync=on",
        ], User);
        return server;
    }

    /// <summary>A connection string to the server's maintenance database.</summary>
    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username={User};Database=postgres;Pooling=false";

    /// <summary>A fresh, empty database; the service's migrations create its tables.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"scoring_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..40];
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return $"Host=127.0.0.1;Port={Port};Username={User};Database={name}";
    }

    /// <summary>
    /// Changes a setting of the database a connection string names, for its sessions from now on
    /// (<c>ALTER DATABASE … SET</c>, as an operator would); pooled connections keep their old sessions.
    /// </summary>
    public async Task AlterDatabaseAsync(string connectionString, string setting)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand($"ALTER DATABASE \"{name}\" SET {setting}", connection);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await ExternalProcess.RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", _dataDirectory, "-m", "immediate", "-w", "stop"], User);
        Directory.Delete(Path.GetDirectoryName(_dataDirectory)!, recursive: true);
    }

    /// <summary>The newest PostgreSQL server binaries Debian installed (/usr/lib/postgresql/&lt;major&gt;/bin).</summary>
    public static string FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).Order().LastOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL server binaries were not found under /usr/lib/postgresql; run tests/run.sh, which installs them (Debian package postgresql).");
    }
}
