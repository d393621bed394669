using System.Diagnostics;
using Grpc.Net.Client;
using Scoring.V1;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>The built service run as its own process on a loopback port, so a test can kill it outright.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly GrpcChannel _channel;

    private ServerProcess(Process process, int port, int metricsPort, int httpPort)
    {
        _process = process;
        Address = $"http://127.0.0.1:{port}";
        _channel = GrpcChannel.ForAddress(Address);
        MetricsPort = metricsPort;
        HttpAddress = new Uri($"http://127.0.0.1:{httpPort}");
    }

    /// <summary>The gRPC address.</summary>
    public string Address { get; }

    /// <summary>The HTTP/1.1 port serving /metrics.</summary>
    public int MetricsPort { get; }

    /// <summary>The HTTP/JSON API (plain HTTP/1.1).</summary>
    public Uri HttpAddress { get; }

    public int ProcessId => _process.Id;

    public ConductScoring.ConductScoringClient Scoring => new(_channel);

    public V1.Standings.StandingsClient Standings => new(_channel);
    public Appeals.AppealsClient Appeals => new(_channel);
    public V1.Policies.PoliciesClient Policies => new(_channel);

    /// <summary>Starts the service with these settings (environment-variable form) and returns once it listens.</summary>
    public static async Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string> environment)
    {
        var port = ExternalProcess.FreePort();
        var metricsPort = ExternalProcess.FreePort();
        var httpPort = ExternalProcess.FreePort();
        var serviceDll = typeof(Program).Assembly.Location;
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { serviceDll, "--urls", $"http://127.0.0.1:{port}" },
            WorkingDirectory = Path.GetDirectoryName(serviceDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["Hosting__MetricsPort"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["Hosting__HttpPort"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The process runs as Production, which refuses to start without an audit key.
        info.Environment["Audit__ChainKey"] = ScoringApp.AuditKey;
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("The service did not start.");
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            output.Enqueue(e.Data ?? "");
            if (e.Data?.Contains("Application started", StringComparison.Ordinal) == true)
            {
                listening.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException(
            $"The service exited during start-up:\n{string.Join('\n', output)}"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        await listening.Task.WaitAsync(TimeSpan.FromMinutes(1));
        return new ServerProcess(process, port, metricsPort, httpPort);
    }

    /// <summary>
    /// Runs the service with these settings and arguments until it exits by itself, for start-up that must
    /// fail. Should it start listening instead, it is killed and the exit code is null.
    /// </summary>
    public static async Task<(int? ExitCode, string Output, string Error)> RunToExitAsync(
        IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var serviceDll = typeof(Program).Assembly.Location;
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(serviceDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(serviceDll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{ExternalProcess.FreePort()}");
        info.Environment["Hosting__MetricsPort"] = ExternalProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["Hosting__HttpPort"] = ExternalProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        // As in StartAsync: only the setting under test may be wrong.
        info.Environment["Audit__ChainKey"] = ScoringApp.AuditKey;
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("The service did not start.");
        var output = new System.Text.StringBuilder();
        var error = new System.Text.StringBuilder();
        var started = false;
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data?.Contains("Application started", StringComparison.Ordinal) == true)
            {
                started = true;
                process.Kill(entireProcessTree: true);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (error)
                {
                    error.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        // The parameterless wait also drains the redirected streams.
        process.WaitForExit();
        return (started ? null : process.ExitCode, output.ToString(), error.ToString());
    }

    /// <summary>SIGTERM, as Kubernetes sends it; returns the exit code once the process has drained and exited.</summary>
    public async Task<int> TerminateAsync(TimeSpan within)
    {
        await ExternalProcess.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await _process.WaitForExitAsync().WaitAsync(within);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing; only what was committed survives.</summary>
    public void Crash()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Crash();
        }

        _channel.Dispose();
        _process.Dispose();
    }
}
