using System.Diagnostics;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>
/// A throw-away redis-server on a free 127.0.0.1 port. It keeps an append-only file, so a
/// <see cref="Kill"/> and <see cref="StartAsync()"/> bring back exactly what it held, stale entries included.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory;
    private Process? _process;

    private RedisServer(string directory, int port)
    {
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=2000";

    public static async Task<RedisServer> StartNewAsync()
    {
        var server = new RedisServer(Directory.CreateTempSubdirectory("scoring-redis-").FullName, ExternalProcess.FreePort());
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts (or restarts) the server on the same port and data directory; returns once it accepts commands.</summary>
    public async Task StartAsync()
    {
        if (!File.Exists("/usr/bin/redis-server"))
        {
            throw new InvalidOperationException("redis-server was not found; run tests/run.sh, which installs it (Debian package redis-server).");
        }

        _process = ExternalProcess.Start("/usr/bin/redis-server",
        [
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--dir", _directory, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
        ]);

        // redis-server logs this line once it accepts connections: an event, not a guess at timing.
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        _process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("redis-server exited during start-up."));
        _process.EnableRaisingEvents = true;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGSTOP: the server keeps its connections but answers nothing until <see cref="ResumeAsync"/>.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT: the paused server answers what queued up meanwhile.</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    private Task SignalAsync(string signal) =>
        ExternalProcess.RunAsync("kill", [$"-{signal}", (_process ?? throw new InvalidOperationException("redis-server is not running.")).Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>Stops the server abruptly, as a crash would.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process?.Dispose();
        _process = null;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
