using System.CommandLine;
using Google.Protobuf.WellKnownTypes;
using Spectre.Console;
using Scoring.V1;

namespace Scoring.Cli.Commands;

/// <summary>record, score, scores, violations, policy.</summary>
internal static class ScoreCommands
{
    public static IEnumerable<Command> Create(CliContext cli)
    {
        yield return Record(cli);
        yield return Score(cli);
        yield return Scores(cli);
        yield return Violations(cli);
        yield return Policy(cli);
    }

    private static Command Record(CliContext cli)
    {
        var source = new Option<string>("--source") { Description = "The reporting service ([a-z0-9._:-]).", Required = true };
        var eventId = new Option<string>("--event-id") { Description = "The reporter's id for the event (retries with the same id are safe).", Required = true };
        var user = new Option<string>("--user") { Description = "The user's pseudonym.", Required = true };
        var category = new Option<string>("--category") { Description = "A category of the policy (see `scoring policy`).", Required = true };
        var severity = new Option<string>("--severity") { Description = "low, medium, high or critical.", Required = true };
        severity.AcceptOnlyFromAmong("low", "medium", "high", "critical");
        var occurredAt = new Option<DateTimeOffset?>("--occurred-at") { Description = "When it happened (ISO 8601); default now." };
        var evidence = new Option<string>("--evidence") { Description = "A reference to the evidence, never the content." };
        var note = new Option<string>("--note") { Description = "The statement of reasons shown to the user." };
        var decidedBy = new Option<string>("--decided-by") { Description = "The moderator or classifier that made the call." };
        var automated = new Option<bool>("--automated") { Description = "Decided without human review." };
        var ground = new Option<string>("--decision-ground") { Description = "What the decision rests on (DSA Art. 17): illegal or incompatible (with the terms)." };
        ground.AcceptOnlyFromAmong("illegal", "incompatible");
        var legalGround = new Option<string>("--legal-ground") { Description = "The law or terms clause relied on." };

        var command = new Command("record", "Record a violation.")
        {
            source, eventId, user, category, severity, occurredAt, evidence, note, decidedBy, automated, ground, legalGround,
        };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Scoring.RecordViolationAsync(new RecordViolationRequest
            {
                Source = parse.GetValue(source)!,
                EventId = parse.GetValue(eventId)!,
                UserId = parse.GetValue(user)!,
                Category = parse.GetValue(category)!,
                Severity = Format.ParseSeverity(parse.GetValue(severity)!),
                OccurredAt = parse.GetValue(occurredAt) is { } at ? Timestamp.FromDateTimeOffset(at.ToUniversalTime()) : null,
                EvidenceRef = parse.GetValue(evidence) ?? "",
                Note = parse.GetValue(note) ?? "",
                DecidedBy = parse.GetValue(decidedBy) ?? "",
                Automated = parse.GetValue(automated),
                DecisionGround = parse.GetValue(ground) switch
                {
                    "illegal" => DecisionGround.IllegalContent,
                    "incompatible" => DecisionGround.IncompatibleContent,
                    _ => DecisionGround.Unspecified,
                },
                LegalGround = parse.GetValue(legalGround) ?? "",
            }, headers, cancellationToken: token).ResponseAsync,
            (console, response) =>
            {
                console.MarkupLine(response.Duplicate ? "[yellow]Already recorded[/] (a replay: nothing changed)." : "[green]Recorded.[/]");
                console.Write(ViolationTable([response.Violation]));
                console.Write(ScoreTable(response.Score));
            }));
        return command;
    }

    private static Command Score(CliContext cli)
    {
        var user = new Argument<string>("user") { Description = "The user's pseudonym." };
        var explain = new Option<bool>("--explain") { Description = "List what each violation contributes." };
        var command = new Command("score", "A user's score and standing.") { user, explain };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Scoring.GetScoreAsync(
                new GetScoreRequest { UserId = parse.GetValue(user)!, IncludeBreakdown = parse.GetValue(explain) }, headers, cancellationToken: token).ResponseAsync,
            (console, score) =>
            {
                console.Write(ScoreTable(score));
                if (score.Breakdown.Count > 0)
                {
                    console.Write(CliContext.Rows(
                        ["violation", "category", "severity", "base", "now", "occurred", "half-life"],
                        score.Breakdown.Select(c => new[]
                        {
                            c.ViolationId, c.Category, Format.Of(c.Severity), Format.Points(c.BasePoints), Format.Points(c.CurrentPoints),
                            Format.Of(c.OccurredAt), Format.Of(c.HalfLife),
                        })));
                }
            }));
        return command;
    }

    private static Command Scores(CliContext cli)
    {
        var users = new Argument<string[]>("users") { Description = "Up to 1000 pseudonyms.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("scores", "Several users' scores at once.") { users };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) =>
            {
                var request = new GetScoresRequest();
                request.UserIds.AddRange(parse.GetValue(users)!);
                return clients.Scoring.GetScoresAsync(request, headers, cancellationToken: token).ResponseAsync;
            },
            (console, response) => console.Write(CliContext.Rows(
                ["user", "points", "standing", "active", "improves at", "contested"],
                response.Scores.Select(s => new[]
                {
                    s.UserId, Format.Points(s.Points), Format.Of(s.Standing), s.ActiveViolations.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Format.Of(s.StandingImprovesAt), s.Contested ? "yes" : "no",
                })))));
        return command;
    }

    private static Command Violations(CliContext cli)
    {
        var user = new Argument<string>("user") { Description = "The user's pseudonym." };
        var all = new Option<bool>("--all") { Description = "Include overturned and expired violations." };
        var (pageSize, pageToken) = Paging.Options();
        var command = new Command("violations", "A user's violations, newest first.") { user, all, pageSize, pageToken };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Scoring.ListViolationsAsync(new ListViolationsRequest
            {
                UserId = parse.GetValue(user)!,
                IncludeInactive = parse.GetValue(all),
                PageSize = parse.GetValue(pageSize),
                PageToken = parse.GetValue(pageToken) ?? "",
            }, headers, cancellationToken: token).ResponseAsync,
            (console, response) =>
            {
                console.Write(ViolationTable(response.Violations));
                Paging.Next(console, response.NextPageToken);
            }));
        return command;
    }

    private static Command Policy(CliContext cli)
    {
        var command = new Command("policy", "The scoring policy in force; its versions: list, show, draft, publish, diff, simulate, activate.")
        {
            PolicyCommands.List(cli),
            PolicyCommands.Show(cli),
            PolicyCommands.Draft(cli),
            PolicyCommands.Publish(cli),
            PolicyCommands.Diff(cli),
            PolicyCommands.Simulate(cli),
            PolicyCommands.Simulations(cli),
            PolicyCommands.Activate(cli),
        };
        command.SetAction(cli.Call(
            (clients, _, headers, token) => clients.Scoring.GetPolicyAsync(new GetPolicyRequest(), headers, cancellationToken: token).ResponseAsync,
            (console, policy) => PolicyCommands.Write(console, policy)));
        return command;
    }

    public static Spectre.Console.Rendering.IRenderable ScoreTable(UserScore score) => CliContext.Fields(
        ("user", score.UserId),
        ("points", Format.Points(score.Points)),
        ("standing", Format.Of(score.Standing) + (score.Permanent ? " (permanent)" : "")),
        ("active violations", score.ActiveViolations.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("standing improves at", Format.Of(score.StandingImprovesAt)),
        ("contested", score.Contested ? "yes" : "no"),
        ("computed at", Format.Of(score.ComputedAt)),
        ("policy", score.PolicyVersion));

    public static Table ViolationTable(IEnumerable<Violation> violations) => CliContext.Rows(
        ["violation", "category", "severity", "points now", "status", "occurred", "appeal"],
        violations.Select(v => new[]
        {
            v.ViolationId, v.Category, Format.Of(v.Severity), Format.Points(v.CurrentPoints), Format.Of(v.Status), Format.Of(v.OccurredAt),
            v.AppealId.Length == 0 ? "—" : $"{v.AppealId} ({Format.Of(v.AppealState)})",
        }));
}

/// <summary>The paging options every listing shares.</summary>
internal static class Paging
{
    public static (Option<int> PageSize, Option<string> PageToken) Options() =>
        (new Option<int>("--page-size") { Description = "Items per page (default 50, at most 500)." },
         new Option<string>("--page-token") { Description = "Continue from a previous page." });

    public static void Next(IAnsiConsole console, string nextPageToken)
    {
        if (nextPageToken.Length > 0)
        {
            console.MarkupLine($"More: --page-token {Markup.Escape(nextPageToken)}");
        }
    }
}
