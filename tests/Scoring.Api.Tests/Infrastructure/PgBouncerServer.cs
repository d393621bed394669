using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>
/// A throw-away PgBouncer from the Debian package on a free 127.0.0.1 port, in front of a
/// <see cref="PostgresServer"/>, pooling in transaction mode: a server connection belongs to a client
/// only for one transaction, so nothing a session sets (prepared statements, advisory locks, SET)
/// survives to the client's next transaction. Few server connections serve many clients.
/// </summary>
public sealed class PgBouncerServer : IAsyncDisposable
{
    /// <summary>Server connections per database and user: deliberately few, so clients share them.</summary>
    public const int PoolSize = 4;

    private readonly string _directory;
    private readonly Process _process;

    private PgBouncerServer(string directory, int port, Process process)
    {
        _directory = directory;
        Port = port;
        _process = process;
    }

    public int Port { get; }

    public static async Task<PgBouncerServer> StartAsync(PostgresServer postgres)
    {
        var binary = new[] { "/usr/sbin/pgbouncer", "/usr/bin/pgbouncer" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("pgbouncer was not found; run tests/run.sh, which installs it (Debian package pgbouncer).");
        var directory = Directory.CreateTempSubdirectory("scoring-pgbouncer-").FullName;
        var port = ExternalProcess.FreePort();
        var config = Path.Combine(directory, "pgbouncer.ini");
        await File.WriteAllTextAsync(Path.Combine(directory, "users.txt"), "\"postgres\" \"\"\n");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            [databases]
            * = host=127.0.0.1 port={postgres.Port}

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = trust
            auth_file = {directory}/users.txt
            pool_mode = transaction
            default_pool_size = {PoolSize}
            max_client_conn = 2000
            admin_users = postgres
            ignore_startup_parameters = extra_float_digits
            """));
        if (ExternalProcess.IsRoot)
        {
            // PgBouncer refuses to run as root, so root runs it as the postgres user.
            await ExternalProcess.RunAsync("chown", ["-R", "postgres:postgres", directory]);
        }

        var process = ExternalProcess.Start(binary, [config], "postgres");
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        DataReceivedEventHandler onLine = (_, e) =>
        {
            if (e.Data?.Contains("process up", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.OutputDataReceived += onLine;
        process.ErrorDataReceived += onLine;
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("pgbouncer exited during start-up."));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PgBouncerServer(directory, port, process);
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>
    /// <paramref name="direct"/> (a connection string to the PostgreSQL server) routed through the pooler,
    /// as an operator would write it behind PgBouncer in transaction mode: no prepared statements kept
    /// across transactions, and no DISCARD ALL when a connection goes back to the client's pool.
    /// </summary>
    public string Through(string direct) => new NpgsqlConnectionStringBuilder(direct)
    {
        Port = Port,
        MaxAutoPrepare = 0,
        NoResetOnClose = true,
    }.ConnectionString;

    /// <summary>Client and server connections of <paramref name="database"/>'s pool, from the admin console's SHOW POOLS.</summary>
    public async Task<(int Clients, int Servers)> PoolAsync(string database)
    {
        // The admin console speaks only the simple query protocol, which Npgsql does not; psql does.
        var csv = await ExternalProcess.RunAsync("psql",
        [
            "--host", "127.0.0.1", "--port", Port.ToString(CultureInfo.InvariantCulture), "--username", "postgres",
            "--dbname", "pgbouncer", "--csv", "--command", "SHOW POOLS",
        ]);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = lines[0].Split(',');
        int Column(string[] row, string name) => int.Parse(row[Array.IndexOf(header, name)], CultureInfo.InvariantCulture);
        var (clients, servers) = (0, 0);
        foreach (var row in lines.Skip(1).Select(l => l.Split(',')).Where(r => r[Array.IndexOf(header, "database")] == database))
        {
            clients += Column(row, "cl_active") + Column(row, "cl_waiting");
            servers += Column(row, "sv_active") + Column(row, "sv_idle") + Column(row, "sv_used") + Column(row, "sv_tested") + Column(row, "sv_login");
        }

        return (clients, servers);
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // As root the process is runuser, with pgbouncer its child.
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
