using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Scoring.V1;
using Spectre.Console;

namespace Scoring.Cli.Commands;

/// <summary>
/// scoring policy list | show V | draft | publish V | diff A B | simulate V [--wait] | activate V --reason R:
/// the versions of the policy and their lifecycle (scoring.v1.Policies).
/// </summary>
public static class PolicyCommands
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static Command List(CliContext cli)
    {
        var pageSize = new Option<int>("--page-size") { Description = "Versions per page (0: the server's default)." };
        var pageToken = new Option<string>("--page-token") { Description = "The token a previous page printed." };
        var command = new Command("list", "The stored versions of the policy, newest first.") { pageSize, pageToken };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Policies.ListPolicyVersionsAsync(new ListPolicyVersionsRequest
            {
                PageSize = parse.GetValue(pageSize),
                PageToken = parse.GetValue(pageToken) ?? "",
            }, headers, cancellationToken: token).ResponseAsync,
            (console, response) =>
            {
                console.Write(CliContext.Rows(
                    ["version", "state", "author", "created", "activated", "sha-256", "description"],
                    response.Versions.Select(v => new[]
                    {
                        v.Version, Format.Of(v.State), v.Author, Format.Of(v.CreatedAt), Format.Of(v.ActivatedAt), v.ContentHash[..12], v.Description,
                    })));
                Paging.Next(console, response.NextPageToken);
            }));
        return command;
    }

    public static Command Show(CliContext cli)
    {
        var version = new Argument<string>("version") { Description = "The version string." };
        var command = new Command("show", "One stored version of the policy, with its content.") { version };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Policies.GetPolicyVersionAsync(
                new GetPolicyVersionRequest { Version = parse.GetValue(version)! }, headers, cancellationToken: token).ResponseAsync,
            (console, stored) =>
            {
                console.Write(CliContext.Fields(
                    ("state", Format.Of(stored.State)),
                    ("author", stored.Author),
                    ("description", stored.Description),
                    ("sha-256", stored.ContentHash),
                    ("created", Format.Of(stored.CreatedAt)),
                    ("published", Format.Of(stored.PublishedAt)),
                    ("activated", Format.Of(stored.ActivatedAt)),
                    ("retired", Format.Of(stored.RetiredAt))));
                Write(console, stored.Policy);
            }));
        return command;
    }

    public static void Write(IAnsiConsole console, Policy policy)
    {
        console.Write(CliContext.Fields(
            ("version", policy.Version),
            ("severity points", $"low {policy.SeverityPoints.Low}, medium {policy.SeverityPoints.Medium}, high {policy.SeverityPoints.High}, critical {policy.SeverityPoints.Critical}"),
            ("thresholds", $"warned {policy.Thresholds.Warned}, restricted {policy.Thresholds.Restricted}, suspended {policy.Thresholds.Suspended}, banned {policy.Thresholds.Banned}"),
            ("max age", Format.Of(policy.MaxAge)),
            ("appeal window", Format.Of(policy.AppealWindow)),
            ("review SLA", Format.Of(policy.ReviewSla))));
        console.Write(CliContext.Rows(
            ["category", "weight", "half-life", "zero tolerance"],
            policy.Categories.Select(c => new[] { c.Name, Format.Points(c.Weight), Format.Of(c.HalfLife), c.ZeroTolerance ? "yes" : "no" })));
    }

    public static Command Draft(CliContext cli)
    {
        var version = new Option<string>("--version") { Description = "The new draft's version string (required with --from; replaces the file's version)." };
        var from = new Option<string>("--from") { Description = "Copy this version's content." };
        var file = new Option<FileInfo>("--file") { Description = "A policy as JSON, in the shape GET /v1/policy answers (durations as \"1209600s\")." };
        var description = new Option<string>("--description") { Description = "What the version is for." };
        var command = new Command("draft", "A new draft: a copy of --from under --version, or the policy in --file.") { version, from, file, description };
        command.SetAction(cli.Call(
            async (clients, parse, headers, token) =>
            {
                var request = new CreatePolicyDraftRequest { Version = parse.GetValue(version) ?? "", Description = parse.GetValue(description) ?? "" };
                if (parse.GetValue(file) is { } path)
                {
                    request.Policy = ReadPolicy(path);
                }
                else
                {
                    request.FromVersion = parse.GetValue(from) ?? "";
                }

                return await clients.Policies.CreatePolicyDraftAsync(request, headers, cancellationToken: token);
            },
            (console, stored) => console.MarkupLineInterpolated($"draft [bold]{stored.Version}[/] (sha-256 {stored.ContentHash[..12]}): publish it, then simulate it")));
        return command;
    }

    public static Command Publish(CliContext cli)
    {
        var version = new Argument<string>("version") { Description = "The draft to publish." };
        var command = new Command("publish", "Validates a draft and freezes it, so it can be simulated and activated.") { version };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Policies.PublishPolicyDraftAsync(
                new PublishPolicyDraftRequest { Version = parse.GetValue(version)! }, headers, cancellationToken: token).ResponseAsync,
            (console, stored) => console.MarkupLineInterpolated($"published [bold]{stored.Version}[/] (sha-256 {stored.ContentHash})")));
        return command;
    }

    public static Command Diff(CliContext cli)
    {
        var first = new Argument<string>("a") { Description = "The version to compare from." };
        var second = new Argument<string>("b") { Description = "The version to compare to." };
        var command = new Command("diff", "What changed from version A to version B, field by field.") { first, second };
        command.SetAction(cli.Call(
            async (clients, parse, headers, token) =>
            {
                var a = await clients.Policies.GetPolicyVersionAsync(new GetPolicyVersionRequest { Version = parse.GetValue(first)! }, headers, cancellationToken: token);
                var b = await clients.Policies.GetPolicyVersionAsync(new GetPolicyVersionRequest { Version = parse.GetValue(second)! }, headers, cancellationToken: token);
                var response = new ListPolicyVersionsResponse();
                response.Versions.Add(a);
                response.Versions.Add(b);
                return response;
            },
            (console, pair) =>
            {
                if (pair.Versions[0].ContentHash == pair.Versions[1].ContentHash)
                {
                    console.WriteLine($"{pair.Versions[0].Version} and {pair.Versions[1].Version} have the same rules (sha-256 {pair.Versions[0].ContentHash[..12]})");
                    return;
                }

                var changes = Changes(pair.Versions[0].Policy, pair.Versions[1].Policy).ToArray();

                console.Write(CliContext.Rows(["field", pair.Versions[0].Version, pair.Versions[1].Version], changes.Select(c => new[] { c.Field, c.A, c.B })));
            }));
        return command;
    }

    public static Command Simulate(CliContext cli)
    {
        var version = new Argument<string>("version") { Description = "The published version to try." };
        var baseline = new Option<string>("--baseline") { Description = "The version to compare with (default: the active one)." };
        var wait = new Option<bool>("--wait") { Description = "Wait for the result, with a progress bar on stderr, and print it." };
        var id = new Option<string>("--id") { Description = "Read (or, with --wait, wait for) this simulation instead of starting one." };
        var command = new Command("simulate", "What activating a version would do to every user's standing, before it is live.") { version, baseline, wait, id };
        command.SetAction(cli.Call(
            async (clients, parse, headers, token) =>
            {
                var simulation = parse.GetValue(id) is { Length: > 0 } given
                    ? await clients.Policies.GetPolicySimulationAsync(new GetPolicySimulationRequest { SimulationId = given }, headers, cancellationToken: token)
                    : await clients.Policies.StartPolicySimulationAsync(
                        new StartPolicySimulationRequest { CandidateVersion = parse.GetValue(version)!, BaselineVersion = parse.GetValue(baseline) ?? "" },
                        headers,
                        cancellationToken: token);
                while (parse.GetValue(wait) && simulation.State is PolicySimulationState.Pending or PolicySimulationState.Running)
                {
                    await cli.Progress.WriteAsync(simulation.State == PolicySimulationState.Pending
                        ? "\rwaiting for a replica to take it"
                        : $"\r{Bar(simulation.UsersDone, simulation.UsersTotal)} {simulation.UsersDone}/{simulation.UsersTotal} users        ");
                    await Task.Delay(PollInterval, token);
                    simulation = await clients.Policies.GetPolicySimulationAsync(new GetPolicySimulationRequest { SimulationId = simulation.SimulationId }, headers, cancellationToken: token);
                }

                if (parse.GetValue(wait))
                {
                    await cli.Progress.WriteLineAsync($"\r{Bar(simulation.UsersDone, Math.Max(simulation.UsersTotal, simulation.UsersDone))} {simulation.UsersDone}/{simulation.UsersTotal} users");
                }

                return simulation;
            },
            WriteSimulation));
        return command;
    }

    public static Command Simulations(CliContext cli)
    {
        var pageSize = new Option<int>("--page-size") { Description = "Simulations per page (0: the server's default)." };
        var pageToken = new Option<string>("--page-token") { Description = "The token a previous page printed." };
        var command = new Command("simulations", "Simulations, newest first (read one with: simulate VERSION --id ID).") { pageSize, pageToken };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Policies.ListPolicySimulationsAsync(new ListPolicySimulationsRequest
            {
                PageSize = parse.GetValue(pageSize),
                PageToken = parse.GetValue(pageToken) ?? "",
            }, headers, cancellationToken: token).ResponseAsync,
            (console, response) =>
            {
                console.Write(CliContext.Rows(
                    ["simulation", "state", "candidate", "baseline", "users", "requested by", "created"],
                    response.Simulations.Select(s => new[]
                    {
                        s.SimulationId, Format.Of(s.State), s.CandidateVersion, s.BaselineVersion, $"{s.UsersDone}/{s.UsersTotal}", s.RequestedBy, Format.Of(s.CreatedAt),
                    })));
                Paging.Next(console, response.NextPageToken);
            }));
        return command;
    }

    public static Command Activate(CliContext cli)
    {
        var version = new Argument<string>("version") { Description = "The published (or retired: a rollback) version." };
        var reason = new Option<string>("--reason") { Description = "Why; kept on the audit chain.", Required = true };
        var command = new Command("activate", "Makes a version the one scores are computed under, on every replica within seconds.") { version, reason };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Policies.ActivatePolicyAsync(
                new ActivatePolicyRequest { Version = parse.GetValue(version)!, Reason = parse.GetValue(reason)! }, headers, cancellationToken: token).ResponseAsync,
            (console, response) => console.WriteLine(response.Retired is null
                ? $"{response.Activated.Version} was already active; nothing changed"
                : $"{response.Activated.Version} is active (was {response.Retired.Version}); every replica scores under it within seconds. Roll back with: scoring policy activate {response.Retired.Version} --reason …")));
        return command;
    }

    private static void WriteSimulation(IAnsiConsole console, PolicySimulation simulation)
    {
        console.Write(CliContext.Fields(
            ("simulation", simulation.SimulationId),
            ("state", Format.Of(simulation.State)),
            ("candidate", simulation.CandidateVersion),
            ("baseline", simulation.BaselineVersion),
            ("as of", Format.Of(simulation.AsOf)),
            ("users", $"{simulation.UsersDone} of {simulation.UsersTotal}"),
            ("failure", Format.Text(simulation.Failure))));
        if (simulation.Result is not { } result)
        {
            if (simulation.State is PolicySimulationState.Pending or PolicySimulationState.Running)
            {
                console.WriteLine($"still running: scoring policy simulate {simulation.CandidateVersion} --id {simulation.SimulationId} --wait");
            }

            return;
        }

        console.WriteLine($"{result.UsersChangingStanding} of {result.Users} users would change standing; {result.UsersPointsChanged} would change points "
            + $"(delta p50 {Format.Points(result.PointsDeltaP50)}, p90 {Format.Points(result.PointsDeltaP90)}, p99 {Format.Points(result.PointsDeltaP99)}); "
            + $"{result.UsersBecomingBanned} would become permanently banned, {result.UsersNoLongerBanned} would stop being.");
        var standings = result.Transitions.Select(t => t.ToStanding).Distinct().ToArray();
        console.Write(CliContext.Rows(
            ["baseline \\ candidate", .. standings.Select(Format.Of)],
            result.Transitions.GroupBy(t => t.FromStanding).Select(row => (string[])[Format.Of(row.Key), .. row.Select(t => t.Users.ToString(CultureInfo.InvariantCulture))])));
        console.Write(CliContext.Rows(
            ["category", "violations (baseline)", "points (baseline)", "violations (candidate)", "points (candidate)"],
            result.Categories.Select(c => new[]
            {
                c.Category, c.BaselineViolations.ToString(CultureInfo.InvariantCulture), Format.Points(c.BaselinePoints),
                c.CandidateViolations.ToString(CultureInfo.InvariantCulture), Format.Points(c.CandidatePoints),
            })));
        foreach (var cell in result.Transitions.Where(t => t.SampleUserIds.Count > 0))
        {
            console.WriteLine($"{Format.Of(cell.FromStanding)} → {Format.Of(cell.ToStanding)} ({cell.Users}), for review: {string.Join(' ', cell.SampleUserIds)}");
        }
    }

    private static string Bar(long done, long total)
    {
        const int Width = 30;
        var filled = total <= 0 ? 0 : (int)Math.Min(Width, done * Width / total);
        return "[" + new string('#', filled) + new string('.', Width - filled) + "]";
    }

    private static Policy ReadPolicy(FileInfo file)
    {
        try
        {
            return Policy.Parser.WithDiscardUnknownFields(false).ParseJson(File.ReadAllText(file.FullName));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or Google.Protobuf.InvalidJsonException or Google.Protobuf.InvalidProtocolBufferException)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, $"--file {file.Name}: {exception.Message}"));
        }
    }

    /// <summary>A number as it is, to the last digit: a diff must not round a change away.</summary>
    private static string Exact(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Every field whose value differs, as (path, in A, in B); categories by name.</summary>
    private static IEnumerable<(string Field, string A, string B)> Changes(Policy a, Policy b)
    {
        IEnumerable<(string, string, string)> Field(string path, string x, string y) => x == y ? [] : [(path, x, y)];
        var fields = Field("severity_points.low", Exact(a.SeverityPoints.Low), Exact(b.SeverityPoints.Low))
            .Concat(Field("severity_points.medium", Exact(a.SeverityPoints.Medium), Exact(b.SeverityPoints.Medium)))
            .Concat(Field("severity_points.high", Exact(a.SeverityPoints.High), Exact(b.SeverityPoints.High)))
            .Concat(Field("severity_points.critical", Exact(a.SeverityPoints.Critical), Exact(b.SeverityPoints.Critical)))
            .Concat(Field("thresholds.warned", Exact(a.Thresholds.Warned), Exact(b.Thresholds.Warned)))
            .Concat(Field("thresholds.restricted", Exact(a.Thresholds.Restricted), Exact(b.Thresholds.Restricted)))
            .Concat(Field("thresholds.suspended", Exact(a.Thresholds.Suspended), Exact(b.Thresholds.Suspended)))
            .Concat(Field("thresholds.banned", Exact(a.Thresholds.Banned), Exact(b.Thresholds.Banned)))
            .Concat(Field("max_age", Format.Of(a.MaxAge), Format.Of(b.MaxAge)))
            .Concat(Field("appeal_window", Format.Of(a.AppealWindow), Format.Of(b.AppealWindow)))
            .Concat(Field("review_sla", Format.Of(a.ReviewSla), Format.Of(b.ReviewSla)));
        var names = a.Categories.Select(c => c.Name).Union(b.Categories.Select(c => c.Name)).Order(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var x = a.Categories.FirstOrDefault(c => c.Name == name);
            var y = b.Categories.FirstOrDefault(c => c.Name == name);
            if (x is null || y is null)
            {
                fields = fields.Concat(Field($"categories[{name}]", x is null ? "—" : "present", y is null ? "—" : "present"));
                continue;
            }

            fields = fields
                .Concat(Field($"categories[{name}].weight", Exact(x.Weight), Exact(y.Weight)))
                .Concat(Field($"categories[{name}].half_life", Format.Of(x.HalfLife), Format.Of(y.HalfLife)))
                .Concat(Field($"categories[{name}].zero_tolerance", x.ZeroTolerance ? "yes" : "no", y.ZeroTolerance ? "yes" : "no"));
        }

        return fields;
    }
}
