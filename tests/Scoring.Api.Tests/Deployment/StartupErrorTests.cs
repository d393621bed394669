using Scoring.Api.Tests.Infrastructure;

namespace Scoring.Api.Tests.Deployment;

/// <summary>
/// A settings mistake stops the built service with one line on stderr naming the setting and exit code 1:
/// no unhandled exception, no stack trace, no core-dump exit code.
/// </summary>
public sealed class StartupErrorTests
{
    private static Dictionary<string, string> Settings(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Auth__Mode"] = "None",
            ["Auth__AllowAnonymous"] = "true",
            ["ConnectionStrings__Scoring"] = $"Data Source={Path.Combine(Directory.CreateTempSubdirectory("scoring-startup-").FullName, "scoring.db")}",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static void AssertOneLineNaming(string setting, (int? ExitCode, string Output, string Error) run)
    {
        Assert.True(run.ExitCode == 1, $"exit code {run.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none: it started"}\n{run.Error}\n{run.Output}");
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(setting, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_without_an_auth_mode_exits_with_one_line_naming_Auth_Mode()
    {
        var settings = Settings();
        settings.Remove("Auth__Mode");
        settings.Remove("Auth__AllowAnonymous");

        AssertOneLineNaming("Auth:Mode must be set", await ServerProcess.RunToExitAsync(settings));
    }

    [Fact]
    public async Task The_HTTP_port_on_the_metrics_port_exits_with_one_line_naming_both()
    {
        var run = await ServerProcess.RunToExitAsync(Settings(("Hosting__HttpPort", "9999"), ("Hosting__MetricsPort", "9999")));

        AssertOneLineNaming("Hosting:HttpPort and Hosting:MetricsPort are both 9999", run);
    }

    [Fact]
    public async Task A_port_in_use_exits_with_one_line_naming_the_address()
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var run = await ServerProcess.RunToExitAsync(Settings(("Hosting__HttpPort", port)));

        AssertOneLineNaming($"127.0.0.1:{port}", run);
    }

    [Fact]
    public async Task A_CORS_origin_with_a_path_exits_with_one_line_naming_it()
    {
        var run = await ServerProcess.RunToExitAsync(Settings(("Http__CorsOrigins__0", "https://dash.example.org/grafana")));

        AssertOneLineNaming("Http:CorsOrigins:0", run);
    }

    [Fact]
    public async Task An_invalid_policy_file_exits_with_one_line_naming_Scoring_PolicyFile()
    {
        var policy = Path.Combine(Directory.CreateTempSubdirectory("scoring-policy-").FullName, "policy.json");
        await File.WriteAllTextAsync(policy, "{ \"version\": ", TestContext.Current.CancellationToken);

        var run = await ServerProcess.RunToExitAsync(Settings(("Scoring__PolicyFile", policy)));

        AssertOneLineNaming("Scoring:PolicyFile", run);
        Assert.Contains(policy, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_against_an_unreachable_database_exits_with_one_line_naming_the_connection_string()
    {
        var nobody = ExternalProcess.FreePort();
        var settings = Settings(
            ("Database__Provider", "Postgres"),
            ("ConnectionStrings__Scoring", $"Host=127.0.0.1;Port={nobody};Username=scoring;Password=none;Database=scoring;Timeout=5"));

        AssertOneLineNaming("ConnectionStrings:Scoring", await ServerProcess.RunToExitAsync(settings, "migrate"));
    }

    [Fact]
    public async Task A_nested_rate_limit_out_of_range_exits_with_one_line_naming_the_rule()
    {
        var run = await ServerProcess.RunToExitAsync(Settings(("RateLimit__Writer__Burst", "0")));

        AssertOneLineNaming("RateLimit:Writer:Burst", run);
    }

    [Fact]
    public async Task A_scan_interval_longer_than_a_timer_can_wait_exits_with_one_line_naming_it()
    {
        // A timer waits at most about 49.7 days; past that the scan's first wait would stop the host.
        var run = await ServerProcess.RunToExitAsync(Settings(("Scoring__StandingScanInterval", "90.00:00:00")));

        AssertOneLineNaming("StandingScanInterval", run);
    }
}
