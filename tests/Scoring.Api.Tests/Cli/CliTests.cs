extern alias cli;

using System.Diagnostics;
using System.Text.Json;
using Grpc.Net.Client;
using Scoring.Api.Tests.Infrastructure;
using ScoringCli = cli::Scoring.Cli.ScoringCli;

namespace Scoring.Api.Tests.Cli;

/// <summary>The scoring command against the real service (in process, over its HTTP/2 handler).</summary>
public sealed class CliTests(CliBackend backend, TestServers servers) : IClassFixture<CliBackend>
{
    private async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) =>
        await RunAsync(backend.App, token: null, args);

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(ScoringApp app, string? token, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await ScoringCli.RunAsync(
            args, output, error,
            name => name == "SCORING_TOKEN" ? token : null,
            address => GrpcChannel.ForAddress(app.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = app.Server.CreateHandler() }));
        return (exitCode, output.ToString(), error.ToString());
    }

    private async Task<JsonElement> JsonAsync(params string[] args)
    {
        var (exitCode, output, error) = await RunAsync([.. args, "--json"]);
        Assert.True(exitCode == 0, error);
        return JsonDocument.Parse(output).RootElement;
    }

    [Fact]
    public async Task Policy_list_and_show_read_the_stored_versions()
    {
        var list = await RunAsync("policy", "list");
        var show = await RunAsync("policy", "show", "default-2026-11");
        var missing = await RunAsync("policy", "show", "no-such-version");

        Assert.Equal(0, list.ExitCode);
        Assert.Contains("default-2026-11", list.Output, StringComparison.Ordinal);
        Assert.Contains("active", list.Output, StringComparison.Ordinal);
        Assert.Contains("bootstrap", list.Output, StringComparison.Ordinal);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains(Domain.Policies.PolicyCanonicalForm.Hash(Domain.Policies.ScoringPolicy.Default), show.Output, StringComparison.Ordinal);
        Assert.Contains("violent_extremism", show.Output, StringComparison.Ordinal);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("no-such-version", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_goes_from_draft_through_diff_and_simulation_to_activation_from_the_command_line()
    {
        // A service of its own: activating a version must not change the policy under the other tests.
        var directory = Directory.CreateTempSubdirectory("scoring-cli-policy-").FullName;
        try
        {
            using var app = ScoringApp.OnSqlite(Path.Combine(directory, "scoring.db"));
            var user = "u-cli-" + Guid.NewGuid().ToString("N")[..8];
            await RunAsync(app, null, "record", "--source", "cli.test", "--event-id", "e-p" + user, "--user", user, "--category", "fraud", "--severity", "critical");
            var campaign = Domain.Policies.ScoringPolicy.Default with
            {
                Version = "cli-campaign",
                Categories = [.. Domain.Policies.ScoringPolicy.Default.Categories.Select(c => c.Name == "fraud" ? c with { Weight = 3 } : c)],
            };
            var file = Path.Combine(directory, "campaign.json");
            await File.WriteAllTextAsync(file, Google.Protobuf.JsonFormatter.Default.Format(Api.Grpc.ProtoMapper.ToProto(campaign)), TestContext.Current.CancellationToken);

            var draft = await RunAsync(app, null, "policy", "draft", "--file", file, "--description", "fraud campaign");
            var publish = await RunAsync(app, null, "policy", "publish", "cli-campaign");
            var diff = await RunAsync(app, null, "policy", "diff", "default-2026-11", "cli-campaign");
            var simulate = await RunAsync(app, null, "policy", "simulate", "cli-campaign", "--wait");
            var simulations = await RunAsync(app, null, "policy", "simulations");
            var activate = await RunAsync(app, null, "policy", "activate", "cli-campaign", "--reason", "campaign");
            var unreasoned = await RunAsync(app, null, "policy", "activate", "default-2026-11");

            Assert.All(new[] { draft, publish, diff, simulate, activate }, r => Assert.True(r.ExitCode == 0, r.Error));
            Assert.Contains("categories[fraud].weight", diff.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("categories[spam]", diff.Output, StringComparison.Ordinal);
            // Fraud CRITICAL: 150 points (SUSPENDED) under the default, 300 (BANNED) under the campaign.
            Assert.Contains("1 of 1 users would change standing", simulate.Output, StringComparison.Ordinal);
            Assert.Contains($"suspended → banned (1), for review: {user}", simulate.Output, StringComparison.Ordinal);
            Assert.Contains("1/1 users", simulate.Error, StringComparison.Ordinal);
            Assert.Contains("cli-campaign", simulations.Output, StringComparison.Ordinal);
            Assert.Contains("succeeded", simulations.Output, StringComparison.Ordinal);
            Assert.Contains("cli-campaign is active (was default-2026-11)", activate.Output, StringComparison.Ordinal);
            Assert.NotEqual(0, unreasoned.ExitCode);
            Assert.Contains("--reason", unreasoned.Error, StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Record_then_score_explain_scores_violations_and_policy_read_as_tables()
    {
        var user = Requests.NewUserId();

        var recorded = await RunAsync("record", "--source", "cli.test", "--event-id", "e-1" + user, "--user", user, "--category", "fraud", "--severity", "high", "--note", "Fake shop");
        var score = await RunAsync("score", user, "--explain");
        var scores = await RunAsync("scores", user, "nobody-" + user);
        var violations = await RunAsync("violations", user);
        var policy = await RunAsync("policy");

        Assert.Equal(0, recorded.ExitCode);
        Assert.Contains("Recorded.", recorded.Output, StringComparison.Ordinal);
        Assert.Contains("restricted", score.Output, StringComparison.Ordinal);
        Assert.Contains("90.00:00:00", score.Output, StringComparison.Ordinal);
        Assert.Contains("good", scores.Output, StringComparison.Ordinal);
        Assert.Contains("fraud", violations.Output, StringComparison.Ordinal);
        Assert.Contains("violent_extremism", policy.Output, StringComparison.Ordinal);
        Assert.All(new[] { score, scores, violations, policy }, r => Assert.Equal(0, r.ExitCode));
    }

    [Fact]
    public async Task Json_output_is_the_response_for_scripts()
    {
        var user = Requests.NewUserId();
        await RunAsync("record", "--source", "cli.test", "--event-id", "e-2" + user, "--user", user, "--category", "spam", "--severity", "medium");

        var score = await JsonAsync("score", user);

        Assert.Equal(15, score.GetProperty("points").GetDouble(), 1e-9);
        Assert.Equal("STANDING_WARNED", score.GetProperty("standing").GetString());
    }

    [Fact]
    public async Task A_rejected_call_shows_the_status_and_the_offending_field_and_fails()
    {
        var (exitCode, _, error) = await RunAsync("record", "--source", "cli.test", "--event-id", "e-3", "--user", "u 1", "--category", "jaywalking", "--severity", "low");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("error: INVALID_ARGUMENT", error, StringComparison.Ordinal);
        Assert.Contains("  user_id:", error, StringComparison.Ordinal);
        Assert.Contains("  category:", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_appeal_audit_and_privacy_commands_walk_a_whole_case()
    {
        var user = Requests.NewUserId();
        var violation = (await JsonAsync("record", "--source", "cli.test", "--event-id", "e-4" + user, "--user", user, "--category", "harassment", "--severity", "high", "--decided-by", "mod-7"))
            .GetProperty("violation").GetProperty("violationId").GetString()!;

        var appeal = (await JsonAsync("appeal", "submit", "--violation", violation, "--user", user, "--statement", "Out of context")).GetProperty("appealId").GetString()!;
        var queue = await RunAsync("appeal", "list", "--user", user);
        var assigned = await JsonAsync("appeal", "assign", appeal, "--reviewer", "rev-1");
        var decided = await JsonAsync("appeal", "decide", appeal, "--reviewer", "rev-1", "--decision", "reduce", "--new-severity", "low", "--rationale", "Minor");
        var shown = await RunAsync("appeal", "show", appeal);
        var audit = await RunAsync("audit", "list", "--user", user);
        var verified = await RunAsync("audit", "verify", user);
        var export = await JsonAsync("privacy", "export", user);
        var erased = await RunAsync("privacy", "erase", user, "--reason", "gdpr_art17_request");

        Assert.Contains(appeal, queue.Output, StringComparison.Ordinal);
        Assert.Equal("APPEAL_STATE_IN_REVIEW", assigned.GetProperty("state").GetString());
        Assert.Equal("APPEAL_STATE_REDUCED", decided.GetProperty("appeal").GetProperty("state").GetString());
        Assert.Equal(5, decided.GetProperty("score").GetProperty("points").GetDouble(), 1e-9);
        Assert.Contains("reduce to low", shown.Output, StringComparison.Ordinal);
        Assert.Contains("appeal.decided", audit.Output, StringComparison.Ordinal);
        Assert.Contains("Intact", verified.Output, StringComparison.Ordinal);
        Assert.Equal(4, export.GetProperty("auditEntries").GetArrayLength());
        Assert.Contains("1 violations, 1 appeals", erased.Output, StringComparison.Ordinal);

        var withdrawnCase = (await JsonAsync("record", "--source", "cli.test", "--event-id", "e-5" + user, "--user", user, "--category", "spam", "--severity", "low"))
            .GetProperty("violation").GetProperty("violationId").GetString()!;
        var second = (await JsonAsync("appeal", "submit", "--violation", withdrawnCase, "--user", user, "--statement", "Again")).GetProperty("appealId").GetString()!;
        Assert.Equal("APPEAL_STATE_WITHDRAWN", (await JsonAsync("appeal", "withdraw", second, "--user", user)).GetProperty("state").GetString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("record")]
    [InlineData("score")]
    [InlineData("scores")]
    [InlineData("violations")]
    [InlineData("policy")]
    [InlineData("appeal submit")]
    [InlineData("appeal list")]
    [InlineData("appeal show")]
    [InlineData("appeal assign")]
    [InlineData("appeal decide")]
    [InlineData("appeal withdraw")]
    [InlineData("audit list")]
    [InlineData("audit verify")]
    [InlineData("policy draft")]
    [InlineData("policy publish")]
    [InlineData("policy diff")]
    [InlineData("policy simulate")]
    [InlineData("policy simulations")]
    [InlineData("policy activate")]
    [InlineData("privacy export")]
    [InlineData("privacy erase")]
    [InlineData("bench")]
    public async Task Every_command_has_help(string command)
    {
        var (exitCode, output, _) = await RunAsync([.. command.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);

        Assert.Equal(0, exitCode);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        Assert.Contains("--address", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("read")]
    [InlineData("batch-read")]
    [InlineData("write")]
    [InlineData("batch-write")]
    [InlineData("mixed")]
    public async Task A_bounded_bench_run_reports_throughput_latency_and_errors(string scenario)
    {
        // A second of unmeasured load first: a cold batch of 100 writes on SQLite can outlast a 1 s figure.
        var result = await JsonAsync("bench", "--scenario", scenario, "--warm-up", "1", "--duration", "1", "--concurrency", "4", "--channels", "2", "--population", "50", "--seed", "7");

        Assert.Equal(scenario, result.GetProperty("scenario").GetString());
        Assert.True(result.GetProperty("calls").GetInt64() > 0);
        Assert.True(result.GetProperty("callsPerSecond").GetDouble() > 0);
        Assert.True(result.GetProperty("p50Ms").GetDouble() <= result.GetProperty("p99Ms").GetDouble());
        Assert.True(result.GetProperty("p99Ms").GetDouble() <= result.GetProperty("maxMs").GetDouble());
        Assert.Empty(result.GetProperty("errors").EnumerateObject());
    }

    [Fact]
    public async Task Bench_backs_off_when_the_rate_limit_refuses_instead_of_spinning()
    {
        var directory = Directory.CreateTempSubdirectory("scoring-bench-").FullName;
        using var app = new ScoringApp(new()
        {
            ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(directory, "scoring.db")}",
            ["RateLimit:Anonymous:PermitsPerSecond"] = "0",
            ["RateLimit:Anonymous:Burst"] = "5",
        });

        var (_, output, error) = await RunAsync(app, token: null,
            "bench", "--scenario", "read", "--duration", "2", "--concurrency", "4", "--channels", "1", "--population", "10", "--no-seed-data", "--json");

        var result = JsonDocument.Parse(output).RootElement;
        var refused = result.GetProperty("errors").GetProperty("ResourceExhausted").GetInt64();
        var attempts = result.GetProperty("calls").GetInt64() + refused;
        // The shortest waits the schedule allows (half of 10, 20, 40 … 1000 ms, capped) fit at most 9 times
        // into 2 s, so each worker asks at most 10 times after the burst: 5 + 4 × 10. Without back-off a
        // worker asks again the moment it is refused, thousands of times.
        Assert.InRange(attempts, 6, 5 + (4 * 10));
        Assert.Contains($"backing off: {refused} RESOURCE_EXHAUSTED", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_warms_up_first_and_counts_only_the_measured_calls()
    {
        const string User = "bench-u0";
        var before = await CountViolationsAsync(User);

        var (exitCode, output, error) = await RunAsync(
            "bench", "--scenario", "write", "--warm-up", "1", "--duration", "1", "--concurrency", "2", "--channels", "1", "--population", "1", "--no-seed-data", "--json");
        var measured = JsonDocument.Parse(output).RootElement.GetProperty("calls").GetInt64();
        var recorded = await CountViolationsAsync(User) - before;

        Assert.True(exitCode == 0, error);
        Assert.Contains("warming up for 1 s (not measured)", error, StringComparison.Ordinal);
        Assert.True(measured > 0);
        // Every call of both phases recorded one violation; only the measured ones are in the result.
        Assert.True(recorded > measured, $"{recorded} recorded, {measured} measured");
    }

    private async Task<int> CountViolationsAsync(string user)
    {
        var count = 0;
        var request = new V1.ListViolationsRequest { UserId = user, IncludeInactive = true, PageSize = 500 };
        do
        {
            var page = await backend.App.Scoring.ListViolationsAsync(request);
            count += page.Violations.Count;
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        return count;
    }

    [Fact]
    public async Task Json_output_keeps_zero_values()
    {
        var score = await JsonAsync("score", "nobody-" + Requests.NewUserId());

        Assert.Equal(0, score.GetProperty("points").GetDouble());
        Assert.Equal(0, score.GetProperty("activeViolations").GetInt32());
        Assert.False(score.GetProperty("permanent").GetBoolean());
    }

    [Theory]
    [InlineData("localhost:5999", "http://localhost:5999")]
    [InlineData("127.0.0.1:5080", "http://127.0.0.1:5080")]
    [InlineData("https://scoring.example.org", "https://scoring.example.org")]
    public async Task An_address_without_a_scheme_is_taken_as_http(string given, string expected)
    {
        var asked = new List<string>();
        var (exitCode, _, error) = await RunWithChannelAsync(
            address =>
            {
                asked.Add(address);
                return GrpcChannel.ForAddress(backend.App.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = backend.App.Server.CreateHandler() });
            },
            CancellationToken.None, "policy", "--address", given);

        Assert.True(exitCode == 0, error);
        Assert.Equal([expected], asked);
    }

    [Fact]
    public async Task A_malformed_address_is_one_line_not_a_stack_trace()
    {
        var (exitCode, _, error) = await RunAsync("policy", "--address", "ftp://scoring");

        Assert.NotEqual(0, exitCode);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: --address 'ftp://scoring' is not an address", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_prints_each_change_and_resumes_on_another_replica_without_gaps_or_repeats()
    {
        var environment = new Dictionary<string, string>
        {
            ["Auth__Mode"] = "None",
            ["Auth__AllowAnonymous"] = "true",
            ["Database__Provider"] = "Postgres",
            ["ConnectionStrings__Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
        };
        using var first = await ServerProcess.StartAsync(environment);
        using var second = await ServerProcess.StartAsync(environment);
        var addresses = new Queue<string>([first.Address, second.Address]);
        var output = new StringWriter();
        var errors = new StringWriter();
        var synchronizedOutput = TextWriter.Synchronized(output);
        var synchronizedErrors = TextWriter.Synchronized(errors);
        using var stop = new CancellationTokenSource();
        var watching = ScoringCli.RunAsync(
            ["watch", "--json"], synchronizedOutput, synchronizedErrors, _ => null,
            _ => GrpcChannel.ForAddress(addresses.Count > 1 ? addresses.Dequeue() : addresses.Peek()),
            stop.Token);
        string[] users = [Requests.NewUserId(), Requests.NewUserId()];

        // The writers lock themselves for each write: reading under that lock sees whole lines.
        string Printed()
        {
            lock (synchronizedOutput)
            {
                return output.ToString();
            }
        }

        string State()
        {
            lock (synchronizedErrors)
            {
                return $"output:\n{Printed()}\nerrors:\n{errors}";
            }
        }

        await WaitForAsync(() => Printed().Contains("bookmark", StringComparison.Ordinal), State);
        await first.Scoring.RecordViolationAsync(Requests.Violation(users[0]));
        await WaitForAsync(() => Printed().Contains(users[0], StringComparison.Ordinal), State);
        first.Crash();
        await second.Scoring.RecordViolationAsync(Requests.Violation(users[1]));
        await WaitForAsync(() => Printed().Contains(users[1], StringComparison.Ordinal), State);
        await stop.CancelAsync();
        var exitCode = await watching;

        var changes = Printed().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Where(line => line.TryGetProperty("change", out _))
            .Select(line => line.GetProperty("change").GetProperty("userId").GetString())
            .ToList();
        Assert.Equal(0, exitCode);
        Assert.Equal(users, changes);
        Assert.Contains("resuming from", State(), StringComparison.Ordinal);
    }

    private static async Task WaitForAsync(Func<bool> condition, Func<string>? state = null)
    {
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        for (var i = 0; !condition(); i++)
        {
            Assert.True(i < 1500, $"The condition did not hold within 30 s.\n{state?.Invoke()}");
            await poll.WaitForNextTickAsync(TestContext.Current.CancellationToken);
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunWithChannelAsync(
        Func<string, GrpcChannel> channelFor, CancellationToken cancellationToken, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await ScoringCli.RunAsync(args, output, error, _ => null, channelFor, cancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Bench_refuses_an_address_off_this_machine()
    {
        var (exitCode, _, error) = await RunAsync("bench", "--address", "http://10.1.2.3:5080", "--duration", "1");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("only against this machine", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_token_comes_from_SCORING_TOKEN()
    {
        var directory = Directory.CreateTempSubdirectory("scoring-cli-").FullName;
        using var app = new ScoringApp(Tokens.JwtSettings(new() { ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(directory, "scoring.db")}" }));

        var anonymous = await RunAsync(app, token: null, "policy");
        var reader = await RunAsync(app, Tokens.Create("dash", ["scoring.reader"], serviceNow: app.Time.GetUtcNow()), "policy");

        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.Contains("UNAUTHENTICATED", anonymous.Error, StringComparison.Ordinal);
        Assert.Equal(0, reader.ExitCode);
    }

    [Fact]
    public async Task A_refused_call_shows_why()
    {
        var directory = Directory.CreateTempSubdirectory("scoring-cli-").FullName;
        using var app = new ScoringApp(Tokens.JwtSettings(new() { ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(directory, "scoring.db")}" }));
        var now = app.Time.GetUtcNow();

        var anonymous = await RunAsync(app, token: null, "policy");
        var expired = await RunAsync(app, Tokens.Create("dash", ["scoring.reader"], expired: true, serviceNow: now), "policy");
        var reader = await RunAsync(app, Tokens.Create("dash", ["scoring.reader"], serviceNow: now), "privacy", "erase", "u-1", "--reason", "gdpr");

        Assert.Contains("error: UNAUTHENTICATED: missing token", anonymous.Error, StringComparison.Ordinal);
        Assert.Contains("SCORING_TOKEN is not set", anonymous.Error, StringComparison.Ordinal);
        Assert.Contains("error: UNAUTHENTICATED: token expired", expired.Error, StringComparison.Ordinal);
        Assert.Contains("error: PERMISSION_DENIED: missing role scoring.admin", reader.Error, StringComparison.Ordinal);
        Assert.All(new[] { anonymous, expired, reader }, r => Assert.Equal(1, r.ExitCode));
    }

    [Fact]
    public async Task Report_transparency_prints_a_summary_per_section_and_writes_the_csv_and_report_statements_writes_ndjson()
    {
        var user = Requests.NewUserId();
        var eventId = $"e-{Guid.NewGuid():N}";
        var recorded = await JsonAsync(
            "record", "--source", "notice.form", "--event-id", eventId, "--user", user, "--category", "fraud", "--severity", "high",
            "--evidence", "cid:cli-report", "--decision-ground", "illegal", "--legal-ground", "Consumer protection law, section 5");
        var violationId = recorded.GetProperty("violation").GetProperty("violationId").GetString()!;
        var day = backend.App.Time.GetUtcNow().ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var csv = Path.Combine(Directory.CreateTempSubdirectory("scoring-cli-report-").FullName, "report.csv");

        var report = await RunAsync("report", "transparency", "--from", day, "--to", day, "--csv", csv);
        var statements = await RunAsync("report", "statements", "--from", day, "--to", day);
        var missing = await RunAsync("report", "transparency", "--from", day);
        var endOfTime = await RunAsync("report", "statements", "--from", day, "--to", "9999-12-31");
        var chain = await RunAsync("audit", "list", "--system");
        var verified = await RunAsync("audit", "verify", "--system");

        Assert.True(report.ExitCode == 0, report.Error);
        foreach (var section in new[] { "Violations: ", "Restrictions: ", "Appeals: ", "Retention and erasure: " })
        {
            Assert.Contains(section, report.Output, StringComparison.Ordinal);
        }

        var headers = (await File.ReadAllTextAsync(csv, TestContext.Current.CancellationToken))
            .Split("\r\n\r\n", StringSplitOptions.RemoveEmptyEntries).Select(t => t.Split("\r\n")[0]);
        Assert.Equal(Api.Http.TransparencyCsv.Tables.Select(t => string.Join(',', t.Columns)), headers);
        Assert.True(statements.ExitCode == 0, statements.Error);
        var batches = statements.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToArray();
        var mine = batches.SelectMany(b => b.GetProperty("statements").EnumerateArray()).Single(s => s.GetProperty("puid").GetString() == violationId);
        Assert.Equal("DECISION_GROUND_ILLEGAL_CONTENT", mine.GetProperty("decision_ground").GetString());
        Assert.Equal("Consumer protection law, section 5", mine.GetProperty("illegal_content_legal_ground").GetString());
        Assert.DoesNotContain(user, statements.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("cid:cli-report", statements.Output, StringComparison.Ordinal);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("--to", missing.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, endOfTime.ExitCode);
        Assert.Contains("--to must be a date between 1970 and 9000", endOfTime.Error, StringComparison.Ordinal);
        // Both runs are on the system chain, which still verifies.
        Assert.Contains("report.transparency", chain.Output, StringComparison.Ordinal);
        Assert.Contains("report.statements", chain.Output, StringComparison.Ordinal);
        Assert.True(verified.ExitCode == 0 && verified.Output.Contains("Intact", StringComparison.Ordinal), verified.Output + verified.Error);
    }

    [Fact]
    public async Task The_installed_command_reaches_a_running_server_through_SCORING_ADDRESS()
    {
        using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Scoring"] = $"Data Source={Path.Combine(Directory.CreateTempSubdirectory("scoring-cli-").FullName, "scoring.db")}",
            ["Auth__Mode"] = "None",
            ["Auth__AllowAnonymous"] = "true",
        });
        var cliDll = Path.Combine(AppContext.BaseDirectory, "Scoring.Cli.dll");
        var info = new ProcessStartInfo("dotnet") { ArgumentList = { cliDll, "policy", "--json" }, RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["SCORING_ADDRESS"] = server.Address;

        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(0, process.ExitCode);
        Assert.Equal("default-2026-11", JsonDocument.Parse(output).RootElement.GetProperty("version").GetString());
    }
}

/// <summary>
/// The embedded default with the anonymous rate limit out of the way: a bench run measures the service,
/// and on a fast machine four workers outrun the default limit within a second.
/// </summary>
public sealed class CliBackend : Backend
{
    private readonly string _directory = Directory.CreateTempSubdirectory("scoring-cli-").FullName;

    public override ValueTask InitializeAsync()
    {
        App = new ScoringApp(new()
        {
            ["Database:Provider"] = "Sqlite",
            ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(_directory, "scoring.db")}",
            ["RateLimit:Anonymous:PermitsPerSecond"] = "1000000",
            ["RateLimit:Anonymous:Burst"] = "1000000",
        });
        _ = App.Server;
        return ValueTask.CompletedTask;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
