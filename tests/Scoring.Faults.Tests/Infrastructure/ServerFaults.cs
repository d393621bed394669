using System.Globalization;
using Npgsql;
using Scoring.Api.Tests.Infrastructure;
using StackExchange.Redis;

namespace Scoring.Faults.Tests.Infrastructure;

/// <summary>
/// Real faults for the shared throw-away servers. The servers keep their process and directories
/// private, so each fault asks the running server where they are (Redis INFO and CONFIG, PostgreSQL's
/// data_directory) rather than changing the shared classes.
/// </summary>
public static class ServerFaults
{
    /// <summary>A short-lived connection of the test's own, never the services'; admin, for INFO, CONFIG and SAVE.</summary>
    public static Task<ConnectionMultiplexer> ConnectAsync(this RedisServer redis) =>
        ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");

    /// <summary>The redis-server's process id, as it reports it.</summary>
    public static async Task<int> ProcessIdAsync(this RedisServer redis)
    {
        await using var connection = await redis.ConnectAsync();
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var info = await server.InfoAsync("server");
        var pid = info.SelectMany(group => group).Single(pair => pair.Key == "process_id").Value;
        return int.Parse(pid, CultureInfo.InvariantCulture);
    }

    /// <summary>SIGSTOP: the server keeps its connections open but answers nothing, as a stalled host would.</summary>
    public static Task PauseAsync(int pid) => Signal("STOP", pid);

    /// <summary>SIGCONT: the paused server carries on with what queued up meanwhile.</summary>
    public static Task ResumeAsync(int pid) => Signal("CONT", pid);

    /// <summary>SAVE: an RDB snapshot of what the server holds now.</summary>
    public static async Task SaveAsync(this RedisServer redis)
    {
        await using var connection = await redis.ConnectAsync();
        // Synchronous on purpose: the snapshot must be on disk before the fault that follows.
        await connection.GetServer(connection.GetEndPoints()[0]).ExecuteAsync("SAVE");
    }

    /// <summary>The server's data directory (its append-only file and snapshot live there).</summary>
    public static async Task<string> DataDirectoryAsync(this RedisServer redis)
    {
        await using var connection = await redis.ConnectAsync();
        var config = await connection.GetServer(connection.GetEndPoints()[0]).ConfigGetAsync("dir");
        return config.Single().Value;
    }

    /// <summary>Kills the server, deletes everything it persisted and starts it again: every entry is gone.</summary>
    public static async Task RestartEmptyAsync(this RedisServer redis)
    {
        var directory = await redis.DataDirectoryAsync();
        redis.Kill();
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo folder)
            {
                folder.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }

        await redis.StartAsync();
    }

    /// <summary>Whether the server answers PING now (a paused one does not).</summary>
    public static async Task<bool> AnswersAsync(this RedisServer redis)
    {
        try
        {
            await using var connection = await redis.ConnectAsync();
            await connection.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2));
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// pg_ctl stop -m immediate: every backend is killed without a checkpoint, so the next start runs
    /// crash recovery. Returns what <see cref="StartAgainAsync"/> needs.
    /// </summary>
    public static async Task<PostgresStopped> StopImmediateAsync(this PostgresServer postgres)
    {
        string dataDirectory;
        string binaries;
        await using (var connection = new NpgsqlConnection(postgres.AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "SELECT current_setting('data_directory'), (SELECT setting FROM pg_config WHERE name = 'BINDIR')", connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            dataDirectory = reader.GetString(0);
            binaries = reader.GetString(1);
        }

        var stopped = new PostgresStopped(Path.Combine(binaries, "pg_ctl"), dataDirectory);
        await ExternalProcess.RunAsync(stopped.PgCtl, ["-D", dataDirectory, "-m", "immediate", "-w", "stop"], "postgres");
        return stopped;
    }

    /// <summary>
    /// Starts the cluster again with the options it last started with (pg_ctl keeps them in
    /// postmaster.opts: port, socket directory, listen address); returns once it accepts connections.
    /// </summary>
    public static async Task StartAgainAsync(this PostgresStopped stopped)
    {
        var options = await File.ReadAllTextAsync(Path.Combine(stopped.DataDirectory, "postmaster.opts"));
        // The first word is the postgres binary; the rest are the options, each quoted by pg_ctl.
        var arguments = options.Trim().Split('"', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Skip(1)
            .Where(part => part.Length > 0);
        await ExternalProcess.RunAsync(stopped.PgCtl,
        [
            "-D", stopped.DataDirectory, "-w", "-t", "60", "-l", Path.Combine(stopped.DataDirectory, "server.log"), "start",
            "-o", string.Join(' ', arguments.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a)),
        ], "postgres");
    }

    private static Task Signal(string signal, int pid) =>
        ExternalProcess.RunAsync("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]);
}

/// <summary>A PostgreSQL cluster stopped by <see cref="ServerFaults.StopImmediateAsync"/>.</summary>
public sealed record PostgresStopped(string PgCtl, string DataDirectory);
