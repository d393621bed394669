using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Scoring.V1;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>
/// The real service, hosted in process, talking gRPC over the test server's HTTP/2 handler.
/// The database and Redis are real; only the clock is fake.
/// </summary>
public sealed class ScoringApp : WebApplicationFactory<Program>
{
    public static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The audit key every test app and server process chains with unless a test says otherwise (base64 of 32 bytes).</summary>
    public static readonly string AuditKey = Convert.ToBase64String("scoring-tests-audit-chain-key-32"u8);

    private readonly Dictionary<string, string?> _settings;
    private readonly string _environment;
    private readonly Action<IServiceCollection>? _services;
    private GrpcChannel? _channel;

    /// <param name="services">Test seams added after the app's own services (a failing cache, an interceptor).</param>
    public ScoringApp(Dictionary<string, string?> settings, FakeTimeProvider? time = null, string environment = "Testing", Action<IServiceCollection>? services = null)
    {
        _services = services;
        _environment = environment;
        // Authentication is off unless a test turns it on; the auth tests do. The audit key is set, as in
        // production. A null value removes a setting.
        _settings = new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "None",
            ["Auth:AllowAnonymous"] = "true",
            ["Audit:ChainKey"] = AuditKey,
        };
        foreach (var (key, value) in settings)
        {
            if (value is null)
            {
                _settings.Remove(key);
            }
            else
            {
                _settings[key] = value;
            }
        }

        Time = time ?? new FakeTimeProvider(Start);
    }

    public FakeTimeProvider Time { get; }
    public CommandCounter Commands { get; } = new();
    public LogCollector Logs { get; } = new();

    /// <param name="more">Settings added to these (a null value removes one).</param>
    public static ScoringApp OnPostgres(
        string connectionString, string? redis, FakeTimeProvider? time = null, Action<IServiceCollection>? services = null,
        Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = connectionString,
            ["ConnectionStrings:Redis"] = redis,
            // Generous, so a busy test machine never turns a slow cache write into a repair these tests don't expect.
            ["Cache:WriteTimeout"] = "00:00:10",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return new(settings, time, services: services);
    }

    /// <summary>Near copies off, for tests whose subject is what Redis itself holds and answers.</summary>
    public static readonly Dictionary<string, string?> StrictReads = new() { ["Cache:LocalTtl"] = "00:00:00" };

    /// <summary>PostgreSQL and a Redis Cluster, each cache write confirmed by the replica of its master.</summary>
    public static ScoringApp OnRedisCluster(string connectionString, string cluster, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = connectionString,
            ["ConnectionStrings:Redis"] = cluster,
            ["Cache:WriteTimeout"] = "00:00:10",
            ["Cache:WriteReplicas"] = "1",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return new ScoringApp(settings);
    }

    public static ScoringApp OnSqlite(string file, FakeTimeProvider? time = null) => new(new()
    {
        ["Database:Provider"] = "Sqlite",
        ["ConnectionStrings:Scoring"] = $"Data Source={file}",
    }, time);

    public GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions
    {
        HttpHandler = Server.CreateHandler(),
        MaxReceiveMessageSize = 16 * 1024 * 1024,
    });

    public ConductScoring.ConductScoringClient Scoring => new(Channel);
    public V1.Appeals.AppealsClient Appeals => new(Channel);
    public V1.Audit.AuditClient Audit => new(Channel);
    public V1.Privacy.PrivacyClient Privacy => new(Channel);
    public V1.Standings.StandingsClient Standings => new(Channel);
    public V1.Policies.PoliciesClient Policies => new(Channel);
    public V1.Reports.ReportsClient Reports => new(Channel);
    public Health.HealthClient Health => new(Channel);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_environment);
        // As in Development, whatever the environment: a singleton holding a scoped service (the policy a
        // request scores under, say) fails the test that resolves it instead of freezing it for good.
        builder.UseDefaultServiceProvider(options => options.ValidateScopes = true);
        foreach (var (key, value) in _settings)
        {
            if (value is not null)
            {
                builder.UseSetting(key, value);
            }
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            services.AddSingleton<IInterceptor>(Commands);
            services.AddSingleton<IStartupFilter>(Commands);
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Logs);
            _services?.Invoke(services);
        });
    }

    protected override void Dispose(bool disposing)
    {
        _channel?.Dispose();
        base.Dispose(disposing);
    }
}
