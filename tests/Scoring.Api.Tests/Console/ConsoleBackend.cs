using Grpc.Net.Client;
using Microsoft.Playwright;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;

namespace Scoring.Api.Tests.Console;

/// <summary>
/// The service hosted in process on real Kestrel ports (gRPC and the HTTP/1.1 port that serves the console),
/// on SQLite in Development with authentication off (the console's development sign-in) and a fake clock;
/// and one headless Chromium from Debian's package, driven by Playwright.
/// </summary>
public sealed class ConsoleBackend : IAsyncLifetime
{
    public const string Template = "The evidence shows the reported behaviour; the decision stands.";

    /// <summary>Debian's chromium: Playwright's own browser download cannot work here.</summary>
    public const string Chromium = "/usr/bin/chromium";

    private readonly string _directory = Directory.CreateTempSubdirectory("scoring-console-").FullName;
    private IPlaywright? _playwright;
    private GrpcChannel? _channel;

    public ScoringApp App { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where the console is: http://127.0.0.1:port.</summary>
    public string BaseUrl { get; private set; } = "";

    public Appeals.AppealsClient Appeals => new(_channel);

    public ConductScoring.ConductScoringClient Scoring => new(_channel);

    public GrpcChannel Channel => _channel!;

    public async ValueTask InitializeAsync()
    {
        var grpcPort = ExternalProcess.FreePort();
        var httpPort = ExternalProcess.FreePort();
        App = new ScoringApp(
            new()
            {
                ["Database:Provider"] = "Sqlite",
                ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(_directory, "scoring.db")}",
                ["urls"] = $"http://127.0.0.1:{grpcPort}",
                ["Hosting:HttpPort"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Hosting:MetricsPort"] = "0",
                ["Console:RationaleTemplates:0"] = Template,
                ["RateLimit:Anonymous:PermitsPerSecond"] = "100000",
                ["RateLimit:Anonymous:Burst"] = "100000",
            },
            environment: "Development");
        App.UseKestrel();
        App.StartServer();
        BaseUrl = $"http://127.0.0.1:{httpPort}";
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
    }

    public async ValueTask DisposeAsync()
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
