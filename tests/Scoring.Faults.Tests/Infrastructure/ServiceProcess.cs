using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Net.Client;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;

namespace Scoring.Faults.Tests.Infrastructure;

/// <summary>
/// The built service as its own process on a fixed loopback port, so it can be killed with SIGKILL and
/// started again at the same address while clients keep their channel (unlike Scoring.Api.Tests'
/// ServerProcess, which takes a new port at every start).
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    private const int OutputLines = 500;

    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly int _port = ExternalProcess.FreePort();
    private readonly int _metricsPort = ExternalProcess.FreePort();
    private readonly GrpcChannel _channel;
    private readonly ConcurrentQueue<(long Number, string Line)> _output = new();
    private long _lines;
    private Process? _process;

    public ServiceProcess(string name, IReadOnlyDictionary<string, string> environment)
    {
        Name = name;
        _environment = environment;
        Address = $"http://127.0.0.1:{_port}";
        // A connection refused while the process is down fails the call at once (UNAVAILABLE), and the
        // next call opens a new connection: no client-side backoff hides the restart.
        _channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(3),
                EnableMultipleHttp2Connections = true,
            },
        });
        Scoring = new ConductScoring.ConductScoringClient(_channel);
        Privacy = new Privacy.PrivacyClient(_channel);
    }

    public string Name { get; }

    /// <summary>
    /// The settings every fault run gives its processes: PostgreSQL at <paramref name="database"/>, Redis
    /// at <paramref name="redis"/>, migrations on start, no authentication, and rate limits out of the
    /// way (one loopback address carries every call; the runs measure faults, not the rate limiter).
    /// </summary>
    public static Dictionary<string, string> Settings(string database, string redis) => new()
    {
        ["Database__Provider"] = "Postgres",
        ["ConnectionStrings__Scoring"] = database,
        ["ConnectionStrings__Redis"] = redis,
        ["Database__MigrateOnStartup"] = "true",
        ["Auth__Mode"] = "None",
        ["Auth__AllowAnonymous"] = "true",
        ["RateLimit__Anonymous__PermitsPerSecond"] = "1000000",
        ["RateLimit__Anonymous__Burst"] = "1000000",
        // Production requires the audit chain's secret.
        ["Audit__ChainKey"] = Convert.ToBase64String("scoring-fault-suite-audit-key-32"u8),
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
    };

    public string Address { get; }

    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    public ConductScoring.ConductScoringClient Scoring { get; }

    public Privacy.PrivacyClient Privacy { get; }

    /// <summary>The last lines the process wrote (both runs, if it was restarted), for a failure report.</summary>
    public string RecentOutput => string.Join('\n', _output.Select(o => o.Line));

    /// <summary>How many lines the process has written so far: a mark for <see cref="OutputSince"/>.</summary>
    public long OutputMark => Interlocked.Read(ref _lines);

    /// <summary>The kept lines written after <paramref name="mark"/>.</summary>
    public IEnumerable<string> OutputSince(long mark) => _output.Where(o => o.Number > mark).Select(o => o.Line);

    /// <summary>Starts the service and returns once it listens.</summary>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException($"{Name} is already running.");
        }

        _process?.Dispose();
        var serviceDll = typeof(Program).Assembly.Location;
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { serviceDll, "--urls", Address },
            WorkingDirectory = Path.GetDirectoryName(serviceDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["Hosting__MetricsPort"] = _metricsPort.ToString(CultureInfo.InvariantCulture);
        // Two processes run side by side: the HTTP/JSON port's default would clash, and the suite speaks gRPC.
        info.Environment["Hosting__HttpPort"] = "0";
        foreach (var (key, value) in _environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"{Name} did not start.");
        _process = process;
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            Keep(e.Data);
            if (e.Data?.Contains("Application started", StringComparison.Ordinal) == true)
            {
                listening.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException(
            $"{Name} exited during start-up:\n{RecentOutput}"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await listening.Task.WaitAsync(TimeSpan.FromSeconds(90));
    }

    /// <summary>kill -9: no shutdown hooks, no draining; in-flight calls lose their connection.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        _channel.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue((Interlocked.Increment(ref _lines), line));
        while (_output.Count > OutputLines && _output.TryDequeue(out _))
        {
        }
    }
}
