using System.CommandLine;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Scoring.V1;

namespace Scoring.Cli.Commands;

/// <summary>
/// scoring watch: one line per change of standing as it happens. It resumes by itself from the last
/// revision it printed when the connection drops or the service restarts (on any replica), so nothing is
/// missed or printed twice; it stops on Ctrl+C, or with exit code 1 on an error a retry cannot fix.
/// </summary>
internal static class WatchCommand
{
    private static readonly JsonFormatter Line = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
    private static readonly TimeSpan FirstWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(30);

    public static Command Create(CliContext cli)
    {
        var from = new Option<string?>("--from") { Description = "Start after this revision (from a previous watch or list); default: from now." };
        var users = new Option<string[]>("--user") { Description = "Only this user's changes (repeat for several, at most 1000).", AllowMultipleArgumentsPerToken = true };
        var command = new Command("watch", "Print each change of standing as it happens, resuming by itself after a disconnect.") { from, users };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!cli.TryAddress(parse, out var address))
            {
                return CliContext.Failed;
            }

            var request = new WatchStandingChangesRequest { FromRevision = parse.GetValue(from) ?? "" };
            request.UserIds.AddRange(parse.GetValue(users) ?? []);
            var json = cli.WantsJson(parse);
            var wait = FirstWait;
            var announced = false;
            while (!cancellationToken.IsCancellationRequested)
            {
                using var channel = cli.OpenChannel(address);
                try
                {
                    using var call = new Standings.StandingsClient(channel).WatchStandingChanges(request, cli.Headers(), cancellationToken: cancellationToken);
                    while (await call.ResponseStream.MoveNext(cancellationToken))
                    {
                        var message = call.ResponseStream.Current;
                        if (!json && !announced)
                        {
                            // Otherwise a quiet feed looks like a hung command.
                            await cli.Error.WriteLineAsync($"watch: watching {address} from {Resume(message)}; one line per change (Ctrl+C stops)");
                            announced = true;
                        }

                        request.FromRevision = message.Change?.Revision ?? message.Bookmark.Revision;
                        wait = FirstWait;
                        if (json)
                        {
                            await cli.Output.WriteLineAsync(Line.Format(message));
                        }
                        else if (message.Change is { } change)
                        {
                            await cli.Output.WriteLineAsync(Describe(change));
                        }
                    }

                    await cli.Error.WriteLineAsync($"watch: the stream ended; resuming from {Resume(request)}");
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (RpcException exception) when (cancellationToken.IsCancellationRequested && exception.StatusCode == StatusCode.Cancelled)
                {
                    break;
                }
                catch (RpcException exception) when (IsTransient(exception.StatusCode))
                {
                    await cli.Error.WriteLineAsync($"watch: {address}: {Code(exception.StatusCode)} ({exception.Status.Detail}); resuming from {Resume(request)} in {wait.TotalSeconds:0} s");
                    try
                    {
                        await Task.Delay(wait, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }

                    wait = wait * 2 < LongestWait ? wait * 2 : LongestWait;
                }
                catch (RpcException exception)
                {
                    await cli.ReportErrorAsync(exception);
                    return CliContext.Failed;
                }
            }

            return 0;
        });
        return command;
    }

    /// <summary>One line: revision, instant, user, the move, points, cause.</summary>
    private static string Describe(StandingChange change) => string.Create(
        CultureInfo.InvariantCulture,
        $"{change.Revision}  {change.ChangedAt.ToDateTimeOffset():yyyy-MM-dd HH:mm:ss}Z  {change.UserId}  {Name(change.PreviousStanding)} -> {Name(change.Standing)}  {change.Points:0.##} points  {Cause(change.Cause)}");

    private static string Name(Standing standing) => standing.ToString().ToLowerInvariant();

    private static string Cause(StandingChangeCause cause) => Code(cause.ToString()).ToLowerInvariant();

    private static string Resume(WatchStandingChangesRequest request) => request.FromRevision.Length > 0 ? request.FromRevision : "now";

    private static string Resume(WatchStandingChangesResponse message) =>
        message.Change is { } change ? $"before {change.Revision}" : message.Bookmark.Revision;

    /// <summary>What a retry can fix: the service was unreachable, restarting, overloaded, or the watcher fell behind.</summary>
    private static bool IsTransient(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled
            or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted;

    private static string Code(StatusCode code) => Code(code.ToString()).ToUpperInvariant();

    private static string Code(string name) =>
        string.Concat(name.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString()));
}
