using System.Collections.Concurrent;
using System.Globalization;
using Grpc.Core;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>The service as operators run it: a process with a metrics port, stopped by SIGTERM.</summary>
public sealed class OperationTests(TestServers servers)
{
    private async Task<Dictionary<string, string>> EnvironmentAsync() => new()
    {
        ["Database__Provider"] = "Postgres",
        ["ConnectionStrings__Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
        ["ConnectionStrings__Redis"] = servers.Redis.ConnectionString,
        ["Auth__Mode"] = "None",
        ["Auth__AllowAnonymous"] = "true",
        ["Hosting__DrainTime"] = "00:00:15",
    };

    [Fact]
    public async Task The_metrics_endpoint_reports_the_services_own_meters()
    {
        using var server = await ServerProcess.StartAsync(await EnvironmentAsync());
        var userId = NewUserId();
        await server.Scoring.RecordViolationAsync(Violation(userId));
        for (var i = 0; i < 3; i++)
        {
            await server.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });
        }

        await server.Scoring.GetScoresAsync(new GetScoresRequest { UserIds = { userId, NewUserId() } });

        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://127.0.0.1:{server.MetricsPort}/metrics", TestContext.Current.CancellationToken);

        // Four hits (three GetScore, one GetScores item) and one miss (the unknown user).
        Assert.Equal(4, Sample(text, "scoring_cache_lookups_total", "result=\"hit\""));
        Assert.Equal(1, Sample(text, "scoring_cache_lookups_total", "result=\"miss\""));
        Assert.Equal(1, Sample(text, "scoring_cache_available", ""));
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_SIGTERM_in_flight_calls_finish_and_every_acknowledged_write_survives()
    {
        var environment = await EnvironmentAsync();
        string[] users = [NewUserId(), NewUserId(), NewUserId()];
        var acknowledged = new ConcurrentQueue<RecordViolationRequest>();
        var failures = new ConcurrentQueue<StatusCode>();

        using (var server = await ServerProcess.StartAsync(environment))
        {
            var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var writers = Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
            {
                for (var i = 0; ; i++)
                {
                    var request = Violation(users[(w + i) % users.Length], "spam", Severity.Low);
                    try
                    {
                        await server.Scoring.RecordViolationAsync(request);
                    }
                    catch (RpcException e)
                    {
                        failures.Enqueue(e.StatusCode);
                        return;
                    }

                    acknowledged.Enqueue(request);
                    if (acknowledged.Count >= 60)
                    {
                        enough.TrySetResult();
                    }
                }
            })).ToArray();

            await enough.Task.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
            var exitCode = await server.TerminateAsync(within: TimeSpan.FromSeconds(30));
            await Task.WhenAll(writers);

            Assert.Equal(0, exitCode);
        }

        // Calls refused after the stop began say so in a way clients retry; none was cut half-done.
        Assert.All(failures, status => Assert.Equal(StatusCode.Unavailable, status));

        using var restarted = await ServerProcess.StartAsync(environment);
        var stored = new HashSet<string>();
        foreach (var user in users)
        {
            var page = await restarted.Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = user, IncludeInactive = true, PageSize = 500 });
            stored.UnionWith(page.Violations.Select(v => v.EventId));
        }

        Assert.All(acknowledged, request => Assert.Contains(request.EventId, stored));
    }

    [Fact]
    public async Task The_migrate_command_applies_every_migration_and_exits_without_auth_settings()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        var serviceDll = typeof(Program).Assembly.Location;
        var info = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            ArgumentList = { serviceDll, "migrate" },
            WorkingDirectory = Path.GetDirectoryName(serviceDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Database__Provider"] = "Postgres";
        info.Environment["ConnectionStrings__Scoring"] = database;

        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        Assert.True(process.ExitCode == 0, await output);

        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM \"__EFMigrationsHistory\"", connection);
        var applied = (long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
        Assert.Equal(Directory.GetFiles(Repository.File("src", "Scoring.Api", "Infrastructure", "Persistence", "Migrations", "Postgres"), "*.Designer.cs").Length, applied);
    }

    /// <summary>The value of the first sample of <paramref name="metric"/> whose labels contain <paramref name="label"/>.</summary>
    private static double Sample(string exposition, string metric, string label)
    {
        var line = exposition.Split('\n').FirstOrDefault(l =>
            (l.StartsWith(metric + "{", StringComparison.Ordinal) || l.StartsWith(metric + " ", StringComparison.Ordinal))
            && l.Contains(label, StringComparison.Ordinal));
        Assert.True(line is not null, $"{metric} {label} not found in:\n{exposition}");
        // "name{labels} value [timestamp]" or "name value [timestamp]".
        var afterLabels = line.Contains('}', StringComparison.Ordinal) ? line[(line.LastIndexOf('}') + 1)..] : line[metric.Length..];
        return double.Parse(afterLabels.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
