using System.CommandLine;
using Spectre.Console;
using Scoring.V1;

namespace Scoring.Cli.Commands;

/// <summary>audit list | verify.</summary>
internal static class AuditCommands
{
    public static IEnumerable<Command> Create(CliContext cli)
    {
        var audit = new Command("audit", "The tamper-evident audit trail.");
        audit.Subcommands.Add(List(cli));
        audit.Subcommands.Add(Verify(cli));
        yield return audit;
    }

    private static Command List(CliContext cli)
    {
        var user = new Option<string>("--user") { Description = "A user's chain." };
        var target = new Option<string>("--target") { Description = "Entries about one violation or appeal." };
        var system = new Option<bool>("--system") { Description = "The system chain: policy versions and report runs." };
        var (pageSize, pageToken) = Paging.Options();
        var command = new Command("list", "Audit entries, oldest first.") { user, target, system, pageSize, pageToken };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest
            {
                UserId = parse.GetValue(user) ?? "",
                TargetId = parse.GetValue(target) ?? "",
                System = parse.GetValue(system),
                PageSize = parse.GetValue(pageSize),
                PageToken = parse.GetValue(pageToken) ?? "",
            }, headers, cancellationToken: token).ResponseAsync,
            (console, response) =>
            {
                console.Write(CliContext.Rows(
                    ["#", "when", "actor", "action", "target", "reason", "change"],
                    response.Entries.Select(e => new[]
                    {
                        e.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), Format.Of(e.OccurredAt), e.Actor, e.Action, e.TargetId, e.Reason,
                        Change(e),
                    })));
                Paging.Next(console, response.NextPageToken);
            }));
        return command;
    }

    private static Command Verify(CliContext cli)
    {
        var user = new Argument<string>("user") { Description = "Whose chain to verify.", Arity = ArgumentArity.ZeroOrOne };
        var system = new Option<bool>("--system") { Description = "Verify the system chain (policy versions, report runs) instead of a user's." };
        var command = new Command("verify", "Recompute a user's hash chain, or the system chain's.") { user, system };
        command.SetAction(cli.Call(
            (clients, parse, headers, token) => clients.Audit.VerifyAuditChainAsync(
                new VerifyAuditChainRequest { UserId = parse.GetValue(user) ?? "", System = parse.GetValue(system) }, headers, cancellationToken: token).ResponseAsync,
            (console, result) => console.MarkupLine(result.Valid
                ? $"[green]Intact[/]: {result.EntriesChecked} entries verified."
                : $"[red]Broken[/] at sequence {result.FirstBrokenSequence} ({result.EntriesChecked} entries checked).")));
        return command;
    }

    private static string Change(AuditEntry entry)
    {
        var parts = new List<string>();
        if (entry.BeforeState.Length > 0 || entry.AfterState.Length > 0)
        {
            parts.Add($"{Format.Text(entry.BeforeState)} → {Format.Text(entry.AfterState)}");
        }

        if (entry.BeforeSeverity != entry.AfterSeverity)
        {
            parts.Add($"{Format.Of(entry.BeforeSeverity)} → {Format.Of(entry.AfterSeverity)}");
        }

        if (entry.ItemCount > 0)
        {
            parts.Add($"{entry.ItemCount} records");
        }

        return parts.Count == 0 ? "—" : string.Join("; ", parts);
    }
}
