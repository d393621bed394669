using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Scoring.Cli.Bench;

namespace Scoring.Cli.Commands;

/// <summary>scoring bench: a bounded load run against a service on this machine.</summary>
internal static class BenchCommand
{
    public static Command Create(CliContext cli)
    {
        var scenario = new Option<string>("--scenario")
        {
            Description = "read (GetScore), batch-read (GetScores of 100), write (RecordViolation), batch-write (RecordViolations of 100), mixed (95 % reads), watch (--concurrency watchers of the feed while writers record --rate changes/s).",
            DefaultValueFactory = _ => "read",
        };
        scenario.AcceptOnlyFromAmong([.. LoadRun.Scenarios, "watch"]);
        var rate = new Option<int>("--rate") { Description = "watch: changes written per second.", DefaultValueFactory = _ => 1000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Calls in flight.", DefaultValueFactory = _ => 64 };
        var channels = new Option<int>("--channels") { Description = "HTTP/2 connections.", DefaultValueFactory = _ => 4 };
        var duration = new Option<int>("--duration") { Description = "Seconds to run (1-600).", DefaultValueFactory = _ => 10 };
        var population = new Option<int>("--population") { Description = "Users, chosen with a Zipf skew.", DefaultValueFactory = _ => 10_000 };
        var skew = new Option<double>("--skew") { Description = "The Zipf exponent: 1 makes a few users hot, 0 picks users uniformly.", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<int>("--seed") { Description = "Random seed, for repeatable runs.", DefaultValueFactory = _ => 1 };
        var noSeedData = new Option<bool>("--no-seed-data") { Description = "Skip recording one violation per user before the run." };
        var warmUp = new Option<int>("--warm-up")
        {
            Description = "Seconds of the same load to run first, not measured (0-600), so the figures are the service's steady state rather than its start-up.",
            DefaultValueFactory = _ => 0,
        };

        var command = new Command("bench", "A bounded load run against a service on this machine (loopback addresses only).")
        {
            scenario, concurrency, channels, duration, population, skew, seed, noSeedData, warmUp, rate,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var address = cli.Address(parse);
            if (!IsLoopback(address))
            {
                await cli.Error.WriteLineAsync($"error: bench runs only against this machine (a loopback address), not {address}");
                return CliContext.Failed;
            }

            var settings = new LoadSettings(
                parse.GetValue(scenario)!,
                Math.Clamp(parse.GetValue(concurrency), 1, 4096),
                Math.Clamp(parse.GetValue(channels), 1, 256),
                TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(duration), 1, 600)),
                Math.Clamp(parse.GetValue(population), 1, 10_000_000),
                Math.Clamp(parse.GetValue(skew), 0, 10),
                parse.GetValue(seed),
                !parse.GetValue(noSeedData),
                TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(warmUp), 0, 600)));

            var opened = cli.OpenChannels(parse, settings.Channels);
            try
            {
                if (settings.Scenario == "watch")
                {
                    var watch = new WatchRun(
                        settings.Concurrency, Math.Clamp(parse.GetValue(rate), 1, 100_000), settings.Duration,
                        [.. opened.Select(c => new Clients(c))], cli.Headers(), line => cli.Error.WriteLine(line));
                    var watched = await watch.RunAsync(cancellationToken);
                    await cli.Output.WriteLineAsync(JsonSerializer.Serialize(watched, BenchJson.Default.WatchResult));
                    return watched.Missing == 0 && watched.Duplicates == 0 && watched.Errors.Count == 0 ? 0 : CliContext.Failed;
                }

                var run = new LoadRun(settings, [.. opened.Select(c => new Clients(c))], cli.Headers(), line => cli.Error.WriteLine(line), TimeProvider.System);
                var result = await run.RunAsync(cancellationToken);
                await Report(cli, parse, result);
                return result.Errors.Count == 0 ? 0 : CliContext.Failed;
            }
            catch (Grpc.Core.RpcException e)
            {
                await cli.Error.WriteLineAsync($"error: seeding failed: {e.StatusCode}: {e.Status.Detail}");
                return CliContext.Failed;
            }
            finally
            {
                foreach (var channel in opened)
                {
                    channel.Dispose();
                }
            }
        });
        return command;
    }

    private static async Task Report(CliContext cli, ParseResult parse, LoadResult result)
    {
        if (cli.WantsJson(parse))
        {
            await cli.Output.WriteLineAsync(JsonSerializer.Serialize(result, BenchJson.Default.LoadResult));
            return;
        }

        string F(double value) => value.ToString("#,0.##", CultureInfo.InvariantCulture);
        cli.Tables().Write(CliContext.Fields(
            ("scenario", result.Scenario),
            ("calls", F(result.Calls)),
            ("seconds", F(result.Seconds)),
            ("calls/s", F(result.CallsPerSecond)),
            ("p50 ms", F(result.P50Ms)),
            ("p95 ms", F(result.P95Ms)),
            ("p99 ms", F(result.P99Ms)),
            ("max ms", F(result.MaxMs)),
            ("errors", result.Errors.Count == 0 ? "none" : string.Join(", ", result.Errors.Select(e => $"{e.Key} {e.Value}")))));
    }

    private static bool IsLoopback(string address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri)
        && (uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)));
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(LoadResult))]
[System.Text.Json.Serialization.JsonSerializable(typeof(WatchResult))]
internal sealed partial class BenchJson : System.Text.Json.Serialization.JsonSerializerContext;
