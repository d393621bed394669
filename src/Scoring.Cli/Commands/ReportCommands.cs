using System.CommandLine;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Scoring.Api.Http;
using Scoring.V1;
using Spectre.Console;

namespace Scoring.Cli.Commands;

/// <summary><c>scoring report</c>: the transparency report as tables (or CSV), and the statements of reasons as NDJSON.</summary>
public static class ReportCommands
{
    public static Command Create(CliContext cli) => new("report", "Transparency reports (DSA Art. 15, 17, 24): for administrators and auditors.")
    {
        Transparency(cli),
        Statements(cli),
    };

    private static Command Transparency(CliContext cli)
    {
        var (from, to) = PeriodOptions();
        var groupBy = new Option<string>("--group-by") { Description = "period (one set of figures, the default) or month." };
        groupBy.AcceptOnlyFromAmong("period", "month");
        var csv = new Option<FileInfo>("--csv") { Description = "Also write the report as CSV to this file (one table per section)." };
        var command = new Command("transparency", "Violations, restrictions, appeals, retention and erasure over a period, small counts suppressed.")
        {
            from, to, groupBy, csv,
        };
        command.SetAction(cli.Call(
            async (clients, parse, headers, token) =>
            {
                var report = await clients.Reports.GetTransparencyReportAsync(new GetTransparencyReportRequest
                {
                    PeriodStart = Start(parse.GetValue(from)),
                    PeriodEnd = End(parse.GetValue(to)),
                    GroupBy = parse.GetValue(groupBy) == "month" ? ReportGrouping.Month : ReportGrouping.Period,
                }, headers, cancellationToken: token);
                if (parse.GetValue(csv) is { } file)
                {
                    await File.WriteAllTextAsync(file.FullName, TransparencyCsv.Write(report), token);
                    await cli.Progress.WriteLineAsync($"wrote {file.FullName}");
                }

                return report;
            },
            WriteReport));
        return command;
    }

    private static Command Statements(CliContext cli)
    {
        var (from, to) = PeriodOptions();
        var output = new Option<FileInfo>("--output") { Description = "Write to this file instead of standard output." };
        var command = new Command(
            "statements",
            "The statements of reasons for the violations recorded in the period, as newline-delimited JSON: one batch of at most 100 per line, the body the transparency database's batch API takes.")
        {
            from, to, output,
        };
        command.SetAction(async (parse, token) =>
        {
            if (!cli.TryAddress(parse, out var target))
            {
                return CliContext.Failed;
            }

            using var channel = cli.OpenChannel(target);
            var file = parse.GetValue(output);
            await using var writer = file is null ? null : new StreamWriter(file.FullName);
            var destination = writer ?? cli.Output;
            try
            {
                using var call = new Clients(channel).Reports.ExportStatementsOfReasons(
                    new ExportStatementsOfReasonsRequest { PeriodStart = Start(parse.GetValue(from)), PeriodEnd = End(parse.GetValue(to)) },
                    cli.Headers(),
                    cancellationToken: token);
                var (batches, statements) = (0, 0);
                await foreach (var batch in call.ResponseStream.ReadAllAsync(token))
                {
                    await destination.WriteLineAsync(Google.Protobuf.JsonFormatter.Default.Format(batch));
                    (batches, statements) = (batches + 1, statements + batch.Statements.Count);
                }

                await cli.Progress.WriteLineAsync($"{statements} statements in {batches} batches");
                return 0;
            }
            catch (RpcException exception)
            {
                await cli.ReportErrorAsync(exception);
                return CliContext.Failed;
            }
        });
        return command;
    }

    private static (Option<DateOnly> From, Option<DateOnly> To) PeriodOptions()
    {
        var from = new Option<DateOnly>("--from") { Description = "The period's first day, YYYY-MM-DD (UTC).", Required = true };
        var to = new Option<DateOnly>("--to") { Description = "The period's last day, YYYY-MM-DD (UTC), inclusive.", Required = true };
        foreach (var option in new[] { from, to })
        {
            // The service says the same; checked here too, as the day after 9999-12-31 does not exist.
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<DateOnly>() is { Year: < 1970 or >= 9000 })
                {
                    result.AddError($"{option.Name} must be a date between 1970 and 9000");
                }
            });
        }

        return (from, to);
    }

    private static Timestamp Start(DateOnly day) => Timestamp.FromDateTime(day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));

    private static Timestamp End(DateOnly lastDay) => Start(lastDay.AddDays(1));

    private static void WriteReport(IAnsiConsole console, TransparencyReport report)
    {
        console.WriteLine($"Transparency report, policy {report.PolicyVersion}; counts below {report.MinCellSize} suppressed.");
        foreach (var figures in report.Periods)
        {
            var last = figures.PeriodEnd.ToDateTimeOffset().AddDays(-1);
            console.WriteLine();
            console.WriteLine($"{figures.PeriodStart.ToDateTimeOffset():yyyy-MM-dd} to {last:yyyy-MM-dd}");
            WriteViolations(console, figures.Violations);
            WriteRestrictions(console, figures.Restrictions);
            WriteAppeals(console, figures.Appeals);
            var retention = figures.Retention;
            console.WriteLine($"Retention and erasure: {N(retention.ViolationsPurged)} violations purged, {N(retention.UsersErased)} users erased.");
        }
    }

    private static void WriteViolations(IAnsiConsole console, ViolationFigures v)
    {
        console.WriteLine($"Violations: {N(v.Total)} recorded ({N(v.Automated)} automated, {N(v.Human)} by people).");
        var severities = new[] { Severity.Low, Severity.Medium, Severity.High, Severity.Critical };
        console.Write(CliContext.Rows(
            ["category", .. severities.Select(Format.Of)],
            v.ByCategorySeverity.GroupBy(c => c.Category).Select(g => new[] { g.Key }
                .Concat(severities.Select(s => N(g.FirstOrDefault(c => c.Severity == s)?.Count))).ToArray())));
        console.Write(CliContext.Rows(["source", "violations"], v.BySource.Select(s => new[] { s.Source, N(s.Count) })));
    }

    private static void WriteRestrictions(IAnsiConsole console, RestrictionFigures r)
    {
        console.WriteLine($"Restrictions: {string.Join(", ", r.UsersEntered.Select(s => $"{N(s.Users)} users {Format.Of(s.Standing)}"))}; {N(r.UsersPermanentlyBanned)} banned permanently.");
    }

    private static void WriteAppeals(IAnsiConsole console, AppealFigures a)
    {
        console.WriteLine(
            $"Appeals: {N(a.Submitted)} submitted, {N(a.Decided)} decided ({N(a.Upheld)} upheld, {N(a.Overturned)} overturned, {N(a.Reduced)} reduced), " +
            $"{N(a.Withdrawn)} withdrawn, {N(a.OpenAtEnd)} open at the end; reversal rate {Rate(a.Reversal)}; " +
            $"median {Time(a.MedianTimeToDecision)}, p90 {Time(a.P90TimeToDecision)} to decide; {N(a.DecidedPastSla)} decided past the SLA.");
        console.Write(CliContext.Rows(
            ["decisions of", "decided", "reversed", "rate"],
            new[] { ("automated means", a.ReversalAutomated), ("people", a.ReversalHuman) }
                .Concat(a.ReversalByCategory.Select(c => (c.Category, c.Reversal)))
                .Select(r => new[] { r.Item1, N(r.Item2.Decided), N(r.Item2.Reversed), Rate(r.Item2) })));
    }

    private static string N(ReportedCount? count) =>
        count is { Suppressed: false, HasValue: true } ? count.Value.ToString("N0", CultureInfo.InvariantCulture) : "suppressed";

    /// <summary>A time to decision as a person reads it: 2 d 3 h, 5 h 12 min, 40 s; suppressed when absent.</summary>
    private static string Time(Duration? duration)
    {
        if (duration is null)
        {
            return "suppressed";
        }

        var time = duration.ToTimeSpan();
        return time switch
        {
            { TotalDays: >= 1 } => $"{(int)time.TotalDays} d {time.Hours} h",
            { TotalHours: >= 1 } => $"{time.Hours} h {time.Minutes} min",
            { TotalMinutes: >= 1 } => $"{time.Minutes} min {time.Seconds} s",
            _ => $"{time.TotalSeconds:0.#} s",
        };
    }

    private static string Rate(Reversal? reversal) =>
        reversal is { HasRate: true } ? reversal.Rate.ToString("P1", CultureInfo.InvariantCulture) : "suppressed";
}
