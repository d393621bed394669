using System.CommandLine;
using Scoring.V1;
using Spectre.Console;

namespace Scoring.Cli.Commands;

/// <summary>scoring policy list | show VERSION: the stored versions of the policy (scoring.v1.Policies).</summary>
public static class PolicyCommands
{
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
}
