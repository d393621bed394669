using Grpc.Net.Client;
using Microsoft.Playwright;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;

namespace Scoring.Api.Tests.Console;

/// <summary>
/// The service hosted in process on real Kestrel ports (gRPC, and the HTTP/1.1 port that serves the console),
/// on SQLite in Development with a fake clock; and one headless Chromium from Debian's package, driven by
/// Playwright.
/// </summary>
public abstract class BrowserBackend : IAsyncLifetime
{
    /// <summary>Debian's chromium: Playwright's own browser download cannot work here.</summary>
    public const string Chromium = "/usr/bin/chromium";

    private readonly string _directory = Directory.CreateTempSubdirectory("scoring-console-").FullName;
    private IPlaywright? _playwright;
    private GrpcChannel? _channel;

    public ScoringApp App { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where the console is: http://127.0.0.1:port.</summary>
    public string BaseUrl { get; private set; } = "";

    public GrpcChannel Channel => _channel!;

    public Appeals.AppealsClient Appeals => new(_channel);

    public ConductScoring.ConductScoringClient Scoring => new(_channel);

    private Dictionary<string, string?> _settings = [];

    public async ValueTask InitializeAsync()
    {
        var grpcPort = ExternalProcess.FreePort();
        var httpPort = ExternalProcess.FreePort();
        BaseUrl = $"http://127.0.0.1:{httpPort}";
        var settings = _settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(_directory, "scoring.db")}",
            ["urls"] = $"http://127.0.0.1:{grpcPort}",
            ["Hosting:HttpPort"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Hosting:MetricsPort"] = "0",
            ["RateLimit:Anonymous:PermitsPerSecond"] = "100000",
            ["RateLimit:Anonymous:Burst"] = "100000",
        };
        foreach (var (key, value) in await SettingsAsync())
        {
            settings[key] = value;
        }

        App = new ScoringApp(settings, StartClock(), environment: "Development");
        App.UseKestrel();
        App.StartServer();
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
    }

    /// <summary>A second replica on the same database, on ports of its own (its console at the returned address).</summary>
    public (ScoringApp Replica, string BaseUrl) StartReplica()
    {
        var httpPort = ExternalProcess.FreePort();
        var settings = new Dictionary<string, string?>(_settings)
        {
            ["urls"] = $"http://127.0.0.1:{ExternalProcess.FreePort()}",
            ["Hosting:HttpPort"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var replica = new ScoringApp(settings, App.Time, environment: "Development");
        replica.UseKestrel();
        replica.StartServer();
        return (replica, $"http://127.0.0.1:{httpPort}");
    }

    /// <summary>The service's (fake) clock at start.</summary>
    protected virtual Microsoft.Extensions.Time.Testing.FakeTimeProvider StartClock() => new(ScoringApp.Start);

    /// <summary>What this backend adds to (or changes in) the common settings; <see cref="BaseUrl"/> is known by then.</summary>
    protected abstract Task<IReadOnlyDictionary<string, string?>> SettingsAsync();

    public virtual async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        _channel?.Dispose();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Authentication off: the console's development sign-in (a reviewer id, no password).</summary>
public sealed class ConsoleBackend : BrowserBackend
{
    public const string Template = "The evidence shows the reported behaviour; the decision stands.";

    protected override Task<IReadOnlyDictionary<string, string?>> SettingsAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>
        {
            ["Console:RationaleTemplates:0"] = Template,
        });
}

/// <summary>Authentication on (JWT): reviewers sign in to the console at a real OpenID Connect provider.</summary>
public sealed class OidcConsoleBackend : BrowserBackend
{
    public OidcProvider Provider { get; private set; } = null!;

    /// <summary>
    /// Today, not the tests' usual fixed day: the provider stamps tokens and the browser expires cookies by
    /// the wall clock, and the service checks both against its own.
    /// </summary>
    protected override Microsoft.Extensions.Time.Testing.FakeTimeProvider StartClock() => new(DateTimeOffset.UtcNow);

    protected override async Task<IReadOnlyDictionary<string, string?>> SettingsAsync()
    {
        Provider = await OidcProvider.StartAsync(ExternalProcess.FreePort(), BaseUrl + "/console/signin-oidc");
        return new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Jwt",
            ["Auth:AllowAnonymous"] = null,
            ["Auth:Authority"] = Provider.Issuer,
            ["Auth:Audience"] = "scoring",
            ["Console:ClientId"] = OidcProvider.ClientId,
            ["Console:ClientSecret"] = OidcProvider.ClientSecret,
            // Replacing the default openid, profile, roles (not added to them).
            ["Console:Scopes:0"] = "openid",
            ["Console:Scopes:1"] = "roles",
        };
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Provider.DisposeAsync();
    }
}
