using System.CommandLine;
using Grpc.Net.Client;
using Scoring.Cli.Commands;

namespace Scoring.Cli;

/// <summary>The <c>scoring</c> command: every RPC in human terms, tables for people and <c>--json</c> for scripts.</summary>
public static class ScoringCli
{
    public const string DefaultAddress = "http://localhost:5080";

    /// <summary>Parses and runs one command line; returns the process exit code.</summary>
    /// <param name="environment">Reads SCORING_ADDRESS and SCORING_TOKEN.</param>
    /// <param name="channelFor">Opens a channel to an address (tests pass one to an in-process server).</param>
    public static async Task<int> RunAsync(
        string[] args, TextWriter output, TextWriter error, Func<string, string?> environment, Func<string, GrpcChannel> channelFor,
        CancellationToken cancellationToken = default)
    {
        var address = new Option<string>("--address")
        {
            Description = "The service's gRPC address, as host:port or http://host:port (default: SCORING_ADDRESS, else http://localhost:5080).",
            Recursive = true,
            DefaultValueFactory = _ => environment("SCORING_ADDRESS") is { Length: > 0 } configured ? configured : DefaultAddress,
        };
        var json = new Option<bool>("--json") { Description = "Print the response as JSON, for scripts.", Recursive = true };

        var context = new CliContext(output, error, environment, channelFor, address, json);
        var root = new RootCommand("scoring — the Scoring service from the command line. The bearer token comes from SCORING_TOKEN.")
        {
            address,
            json,
        };
        foreach (var command in ScoreCommands.Create(context)
            .Concat(AppealCommands.Create(context))
            .Concat(AuditCommands.Create(context))
            .Concat(PrivacyCommands.Create(context))
            .Append(ReportCommands.Create(context))
            .Append(WatchCommand.Create(context))
            .Append(BenchCommand.Create(context)))
        {
            root.Subcommands.Add(command);
        }

        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
    }
}
