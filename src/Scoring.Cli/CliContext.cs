using System.CommandLine;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using Spectre.Console;
using Spectre.Console.Rendering;
using Scoring.V1;

namespace Scoring.Cli;

/// <summary>What every command needs: clients for the chosen address, and output as tables or JSON.</summary>
public sealed class CliContext(
    TextWriter output,
    TextWriter error,
    Func<string, string?> environment,
    Func<string, GrpcChannel> channelFor,
    Option<string> address,
    Option<bool> json)
{
    public const int Failed = 1;

    // Zero values are printed ("points": 0): a script reads a field that is always there.
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation().WithFormatDefaultValues(true));

    /// <summary>Runs one call: prints its result, or its status and offending fields with a non-zero exit code.</summary>
    public Func<ParseResult, CancellationToken, Task<int>> Call<TResponse>(
        Func<Clients, ParseResult, Metadata, CancellationToken, Task<TResponse>> call, Action<IAnsiConsole, TResponse> render)
        where TResponse : IMessage
        => async (parse, cancellationToken) =>
        {
            if (!TryAddress(parse, out var target))
            {
                return Failed;
            }

            using var channel = channelFor(target);
            try
            {
                var response = await call(new Clients(channel), parse, Headers(), cancellationToken);
                if (parse.GetValue(json))
                {
                    await output.WriteLineAsync(Json.Format(response));
                }
                else
                {
                    render(Console(), response);
                }

                return 0;
            }
            catch (RpcException exception)
            {
                await ReportAsync(exception);
                return Failed;
            }
        };

    /// <summary>Where progress goes: standard error, so that standard output holds only the result.</summary>
    public TextWriter Progress => error;

    /// <summary>The address a command line names (or the default), with http:// added when it has no scheme.</summary>
    public string Address(ParseResult parse) => Normalize(parse.GetValue(address)!) ?? parse.GetValue(address)!;

    /// <summary>The address, or one line on stderr saying what is wrong with it.</summary>
    public bool TryAddress(ParseResult parse, out string target)
    {
        var given = parse.GetValue(address)!;
        if (Normalize(given) is { } normalized)
        {
            target = normalized;
            return true;
        }

        error.WriteLine($"error: --address '{given}' is not an address: expected host:port or http://host:port (https:// with TLS)");
        target = "";
        return false;
    }

    /// <summary>host:port becomes http://host:port (the service speaks h2c); anything but an http(s) URL is refused.</summary>
    private static string? Normalize(string given)
    {
        var candidate = given.Contains("://", StringComparison.Ordinal) ? given : "http://" + given;
        return Uri.TryCreate(candidate, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0
            ? candidate
            : null;
    }

    public JsonFormatter JsonFormatter => Json;

    public Task ReportErrorAsync(RpcException exception) => ReportAsync(exception);

    public bool WantsJson(ParseResult parse) => parse.GetValue(json);

    public TextWriter Output => output;

    public TextWriter Error => error;

    /// <summary>Several channels to the address: each its own HTTP/2 connection.</summary>
    public GrpcChannel OpenChannel(string target) => channelFor(target);

    public IReadOnlyList<GrpcChannel> OpenChannels(ParseResult parse, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => channelFor(Address(parse)))];

    public IAnsiConsole Tables() => Console();

    public Metadata Headers()
    {
        var headers = new Metadata();
        if (environment("SCORING_TOKEN") is { Length: > 0 } token)
        {
            headers.Add("authorization", $"Bearer {token}");
        }

        return headers;
    }

    private IAnsiConsole Console()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
        });
        // Redirected output (scripts, pipes) gets whole rows rather than wrapped ids.
        if (!console.Profile.Capabilities.Interactive || System.Console.IsOutputRedirected)
        {
            console.Profile.Width = 320;
        }

        return console;
    }

    /// <summary>The status, the message, and each offending field from google.rpc.BadRequest.</summary>
    private async Task ReportAsync(RpcException exception)
    {
        await error.WriteLineAsync($"error: {ToCode(exception.StatusCode)}: {Detail(exception)}");
        if (exception.StatusCode == StatusCode.Unauthenticated && environment("SCORING_TOKEN") is not { Length: > 0 })
        {
            await error.WriteLineAsync("  SCORING_TOKEN is not set: the call went without a bearer token");
        }

        if (exception.GetRpcStatus()?.GetDetail<BadRequest>() is { } badRequest)
        {
            foreach (var violation in badRequest.FieldViolations)
            {
                await error.WriteLineAsync($"  {violation.Field}: {violation.Description}");
            }
        }
    }

    /// <summary>
    /// The status message; for a refusal, the reason from the RFC 6750 challenge when the message lacks it
    /// (a proxy or an older service answering a bare HTTP 401/403).
    /// </summary>
    private static string Detail(RpcException exception)
    {
        if (exception.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied
            && exception.Trailers.GetValue("www-authenticate") is { } challenge
            && System.Text.RegularExpressions.Regex.Match(challenge, "error_description=\"([^\"]*)\"") is { Success: true } reason
            && !exception.Status.Detail.Contains(reason.Groups[1].Value, StringComparison.Ordinal))
        {
            return reason.Groups[1].Value;
        }

        return exception.Status.Detail;
    }

    private static string ToCode(StatusCode code) =>
        string.Concat(code.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();

    /// <summary>A two-column table of labels and values.</summary>
    public static IRenderable Fields(params (string Label, string Value)[] rows)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("field").AddColumn("value");
        foreach (var (label, value) in rows)
        {
            table.AddRow(Markup.Escape(label), Markup.Escape(value));
        }

        return table;
    }

    /// <summary>A table with these columns and rows, escaped.</summary>
    public static Table Rows(string[] columns, IEnumerable<string[]> rows)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(column);
        }

        foreach (var row in rows)
        {
            table.AddRow([.. row.Select(Markup.Escape)]);
        }

        return table;
    }
}

/// <summary>The service clients over one channel.</summary>
public sealed class Clients(GrpcChannel channel)
{
    public ConductScoring.ConductScoringClient Scoring { get; } = new(channel);
    public V1.Appeals.AppealsClient Appeals { get; } = new(channel);
    public V1.Audit.AuditClient Audit { get; } = new(channel);
    public V1.Privacy.PrivacyClient Privacy { get; } = new(channel);
    public V1.Standings.StandingsClient Standings { get; } = new(channel);
    public V1.Policies.PoliciesClient Policies { get; } = new(channel);
    public V1.Reports.ReportsClient Reports { get; } = new(channel);
}
