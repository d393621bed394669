using System.CommandLine;
using Spectre.Console;
using Scoring.V1;

namespace Scoring.Cli.Commands;

/// <summary>appeal submit | list | show | assign | decide | withdraw.</summary>
internal static class AppealCommands
{
    public static IEnumerable<Command> Create(CliContext cli)
    {
        var appeal = new Command("appeal", "Appeals: users contest violations, reviewers decide.");
        appeal.Subcommands.Add(Submit(cli));
        appeal.Subcommands.Add(List(cli));
        appeal.Subcommands.Add(Show(cli));
        appeal.Subcommands.Add(Assign(cli));
        appeal.Subcommands.Add(Decide(cli));
        appeal.Subcommands.Add(Withdraw(cli));
        yield return appeal;
    }

    private static Argument<string> AppealId() => new("appeal") { Description = "The appeal's id." };

    private static Command Submit(CliContext cli)
    {
        var violation = new Option<string>("--violation") { Description = "The contested violation.", Required = true };
        var user = new Option<string>("--user") { Description = "The violation's user.", Required = true };
        var statement = new Option<string>("--statement") { Description = "Why the user contests it.", Required = true };
        var requestId = new Option<string>("--request-id") { Description = "An idempotency key: repeating it returns the same appeal." };
        var command = new Command("submit", "Contest a violation.") { violation, user, statement, requestId };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Appeals.SubmitAppealAsync(new SubmitAppealRequest
            {
                ViolationId = parse.GetValue(violation)!,
                UserId = parse.GetValue(user)!,
                Statement = parse.GetValue(statement)!,
                RequestId = parse.GetValue(requestId) ?? "",
            }, headers, cancellationToken: token).ResponseAsync,
            (console, appeal) => console.Write(AppealTable(appeal))));
        return command;
    }

    private static Command List(CliContext cli)
    {
        var states = new Option<string[]>("--state") { Description = "submitted, in-review, upheld, overturned, reduced, withdrawn (repeatable; default the open ones).", AllowMultipleArgumentsPerToken = true };
        var assignee = new Option<string>("--assignee") { Description = "Only this reviewer's appeals." };
        var user = new Option<string>("--user") { Description = "Only this user's appeals." };
        var overdue = new Option<bool>("--overdue") { Description = "Only open appeals past their due time." };
        var (pageSize, pageToken) = Paging.Options();
        var command = new Command("list", "The review queue, oldest first.") { states, assignee, user, overdue, pageSize, pageToken };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) =>
            {
                var request = new ListAppealsRequest
                {
                    Assignee = parse.GetValue(assignee) ?? "",
                    UserId = parse.GetValue(user) ?? "",
                    OverdueOnly = parse.GetValue(overdue),
                    PageSize = parse.GetValue(pageSize),
                    PageToken = parse.GetValue(pageToken) ?? "",
                };
                request.States.AddRange((parse.GetValue(states) ?? []).Select(Format.ParseState));
                return clients.Appeals.ListAppealsAsync(request, headers, cancellationToken: token).ResponseAsync;
            },
            (console, response) =>
            {
                console.Write(CliContext.Rows(
                    ["appeal", "violation", "user", "state", "submitted", "due", "assignee"],
                    response.Appeals.Select(a => new[]
                    {
                        a.AppealId, a.ViolationId, a.UserId, Format.Of(a.State), Format.Of(a.SubmittedAt), Format.Of(a.DueAt), Format.Text(a.Assignee),
                    })));
                Paging.Next(console, response.NextPageToken);
            }));
        return command;
    }

    private static Command Show(CliContext cli)
    {
        var id = AppealId();
        var command = new Command("show", "One appeal.") { id };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Appeals.GetAppealAsync(new GetAppealRequest { AppealId = parse.GetValue(id)! }, headers, cancellationToken: token).ResponseAsync,
            (console, appeal) => console.Write(AppealTable(appeal))));
        return command;
    }

    private static Command Assign(CliContext cli)
    {
        var id = AppealId();
        var reviewer = new Option<string>("--reviewer") { Description = "The reviewer taking it (your own id when authenticated).", Required = true };
        var command = new Command("assign", "Take an appeal into review, or hand it to another reviewer.") { id, reviewer };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Appeals.AssignAppealAsync(
                new AssignAppealRequest { AppealId = parse.GetValue(id)!, ReviewerId = parse.GetValue(reviewer)! }, headers, cancellationToken: token).ResponseAsync,
            (console, appeal) => console.Write(AppealTable(appeal))));
        return command;
    }

    private static Command Decide(CliContext cli)
    {
        var id = AppealId();
        var reviewer = new Option<string>("--reviewer") { Description = "The deciding reviewer.", Required = true };
        var decision = new Option<string>("--decision") { Description = "uphold, overturn or reduce.", Required = true };
        decision.AcceptOnlyFromAmong("uphold", "overturn", "reduce");
        var newSeverity = new Option<string>("--new-severity") { Description = "With reduce: the lower severity." };
        newSeverity.AcceptOnlyFromAmong("low", "medium", "high", "critical");
        var rationale = new Option<string>("--rationale") { Description = "The reasons for the decision.", Required = true };
        var command = new Command("decide", "Decide an appeal (final); the user's score changes at once.") { id, reviewer, decision, newSeverity, rationale };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Appeals.DecideAppealAsync(new DecideAppealRequest
            {
                AppealId = parse.GetValue(id)!,
                ReviewerId = parse.GetValue(reviewer)!,
                Decision = parse.GetValue(decision) switch
                {
                    "uphold" => AppealDecision.Uphold,
                    "overturn" => AppealDecision.Overturn,
                    _ => AppealDecision.Reduce,
                },
                NewSeverity = parse.GetValue(newSeverity) is { } severity ? Format.ParseSeverity(severity) : Severity.Unspecified,
                Rationale = parse.GetValue(rationale)!,
            }, headers, cancellationToken: token).ResponseAsync,
            (console, response) =>
            {
                console.Write(AppealTable(response.Appeal));
                console.Write(ScoreCommands.ScoreTable(response.Score));
            }));
        return command;
    }

    private static Command Withdraw(CliContext cli)
    {
        var id = AppealId();
        var user = new Option<string>("--user") { Description = "The appeal's user.", Required = true };
        var command = new Command("withdraw", "Withdraw an open appeal.") { id, user };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Appeals.WithdrawAppealAsync(
                new WithdrawAppealRequest { AppealId = parse.GetValue(id)!, UserId = parse.GetValue(user)! }, headers, cancellationToken: token).ResponseAsync,
            (console, appeal) => console.Write(AppealTable(appeal))));
        return command;
    }

    private static Spectre.Console.Rendering.IRenderable AppealTable(Appeal appeal) => CliContext.Fields(
        ("appeal", appeal.AppealId),
        ("violation", appeal.ViolationId),
        ("user", appeal.UserId),
        ("state", Format.Of(appeal.State)),
        ("statement", appeal.Statement),
        ("submitted", Format.Of(appeal.SubmittedAt)),
        ("due", Format.Of(appeal.DueAt)),
        ("assignee", Format.Text(appeal.Assignee)),
        ("decision", Format.Of(appeal.Decision) + (appeal.NewSeverity == Severity.Unspecified ? "" : $" to {Format.Of(appeal.NewSeverity)}")),
        ("decided by", Format.Text(appeal.DecidedBy)),
        ("decided at", Format.Of(appeal.DecidedAt)),
        ("rationale", Format.Text(appeal.Rationale)));
}
