using System.CommandLine;
using Spectre.Console;
using Scoring.V1;

namespace Scoring.Cli.Commands;

/// <summary>privacy export | erase (administrators).</summary>
internal static class PrivacyCommands
{
    public static IEnumerable<Command> Create(CliContext cli)
    {
        var privacy = new Command("privacy", "Data rights: access and erasure (administrators).");
        privacy.Subcommands.Add(Export(cli));
        privacy.Subcommands.Add(Erase(cli));
        yield return privacy;
    }

    private static Command Export(CliContext cli)
    {
        var user = new Argument<string>("user") { Description = "The user's pseudonym." };
        var command = new Command("export", "Everything held about a user (use --json for the full record).") { user };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Privacy.ExportUserDataAsync(new ExportUserDataRequest { UserId = parse.GetValue(user)! }, headers, cancellationToken: token).ResponseAsync,
            (console, export) =>
            {
                console.Write(ScoreCommands.ScoreTable(export.Score));
                console.Write(ScoreCommands.ViolationTable(export.Violations));
                console.MarkupLine($"{export.Appeals.Count} appeals, {export.AuditEntries.Count} audit entries; exported {Markup.Escape(Format.Of(export.ExportedAt))}.");
            }));
        return command;
    }

    private static Command Erase(CliContext cli)
    {
        var user = new Argument<string>("user") { Description = "The user's pseudonym." };
        var reason = new Option<string>("--reason") { Description = "Why, as a short code (for example gdpr_art17_request).", Required = true };
        var command = new Command("erase", "Delete a user's violations, appeals and score (the audit trail stays).") { user, reason };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Privacy.EraseUserAsync(
                new EraseUserRequest { UserId = parse.GetValue(user)!, Reason = parse.GetValue(reason)! }, headers, cancellationToken: token).ResponseAsync,
            (console, erasure) => console.MarkupLine(
                $"Erased {Markup.Escape(erasure.UserId)}: {erasure.ViolationsErased} violations, {erasure.AppealsErased} appeals.")));
        return command;
    }
}
