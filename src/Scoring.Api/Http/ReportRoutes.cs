using System.Globalization;
using FluentValidation;
using FluentValidation.Results;
using Google.Protobuf;
using Mediator;
using Scoring.Api.Features.Reports;
using Scoring.Api.Extensions;
using Scoring.Api.Grpc;
using Scoring.Api.Security;

namespace Scoring.Api.Http;

/// <summary>
/// The reports over HTTP, beside the gRPC adapter and sending the same queries: the transparency report as
/// JSON or CSV, the statements of reasons as newline-delimited JSON, one batch of at most 100 per line
/// (each line the body the transparency database's batch API takes). Periods are given as dates, both
/// inclusive: <c>?from=2026-01-01&amp;to=2026-06-30</c> is the first half of 2026. Errors come in the same
/// shape as every transcoded call's (<c>google.rpc.Status</c> as JSON).
/// </summary>
public static partial class ReportRoutes
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithTypeRegistry(
        Google.Protobuf.Reflection.TypeRegistry.FromFiles(Google.Rpc.ErrorDetailsReflection.Descriptor)));

    // The report as every transcoded route writes JSON: zero values written out, so a reader finds every field.
    private static readonly JsonFormatter ReportJson = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static WebApplication MapReportRoutes(this WebApplication app)
    {
        var reports = app.MapGroup("/v1/reports")
            .RequireAuthorization(ScoringPolicies.Reports)
            .RequireRateLimiting(SecurityExtensions.RateLimitPolicy)
            .RequireCors(HttpApiExtensions.CorsPolicy);
        reports.MapGet("/transparency", (HttpContext http, ISender sender) =>
            AnswerAsync(http, async () =>
            {
                var report = await sender.Send(TransparencyQuery(http.Request.Query), http.RequestAborted);
                return Results.Text(ReportJson.Format(report.ToProto()), "application/json");
            }));
        reports.MapGet("/transparency.csv", (HttpContext http, ISender sender) =>
            AnswerAsync(http, async () =>
            {
                var report = await sender.Send(TransparencyQuery(http.Request.Query), http.RequestAborted);
                return Results.Text(TransparencyCsv.Write(report.ToProto()), "text/csv; charset=utf-8");
            }));
        reports.MapGet("/statements-of-reasons", (HttpContext http, ISender sender) =>
            AnswerAsync(http, async () =>
            {
                var (start, end) = Period(http.Request.Query);
                var batches = (await sender.Send(new ExportStatementsOfReasonsQuery(start, end), http.RequestAborted))
                    .GetAsyncEnumerator(http.RequestAborted);
                // The first batch before the status line: a database that cannot answer is a 503 with its status.
                var any = await batches.MoveNextAsync();
                return Results.Stream(async body =>
                {
                    await using var writer = new StreamWriter(body, leaveOpen: true);
                    try
                    {
                        for (var more = any; more; more = await batches.MoveNextAsync())
                        {
                            await writer.WriteAsync(Json.Format(batches.Current.ToProto()));
                            await writer.WriteAsync('\n');
                            await writer.FlushAsync(http.RequestAborted);
                        }
                    }
                    catch (Exception exception) when (exception is not OperationCanceledException)
                    {
                        // Past the status line: the connection is cut, so the export cannot pass for a complete one.
                        LogFailed(Logger(http), exception);
                        http.Abort();
                    }
                    finally
                    {
                        await batches.DisposeAsync();
                    }
                }, "application/x-ndjson");
            }));
        return app;
    }

    private static GetTransparencyReportQuery TransparencyQuery(IQueryCollection query)
    {
        var (start, end) = Period(query);
        var grouping = query["group_by"].ToString().ToLowerInvariant() switch
        {
            "" or "period" => Domain.Reports.ReportGrouping.Period,
            "month" => Domain.Reports.ReportGrouping.Month,
            _ => throw new ValidationException([new ValidationFailure("group_by", "group_by must be period or month")]),
        };
        return new GetTransparencyReportQuery(start, end, grouping);
    }

    /// <summary>from and to as dates, both inclusive: the period [from, to + 1 day).</summary>
    private static (DateTimeOffset? Start, DateTimeOffset? End) Period(IQueryCollection query)
    {
        var failures = new List<ValidationFailure>();
        var from = Date(query, "from", failures);
        var to = Date(query, "to", failures);
        if (failures.Count > 0)
        {
            throw new ValidationException(failures);
        }

        return (from, to?.AddDays(1));
    }

    private static DateTimeOffset? Date(IQueryCollection query, string name, List<ValidationFailure> failures)
    {
        var text = query[name].ToString();
        if (text.Length == 0)
        {
            failures.Add(new ValidationFailure(name, $"{name} is required (a date, YYYY-MM-DD)"));
            return null;
        }

        if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            failures.Add(new ValidationFailure(name, $"{name} must be a date, YYYY-MM-DD"));
            return null;
        }

        if (date.Year is < 1970 or >= 9000)
        {
            failures.Add(new ValidationFailure(name, $"{name} must be a date between 1970 and 9000"));
            return null;
        }

        return new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
    }

    /// <summary>Runs the route; an exception becomes the status every HTTP route answers with, never a stack trace.</summary>
    private static async Task<IResult> AnswerAsync(HttpContext http, Func<Task<IResult>> route)
    {
        try
        {
            return await route();
        }
        catch (Exception exception)
        {
            var status = ExceptionStatus.From(exception is ValidationException validation ? AsQueryParameters(validation) : exception);
            if (status.Code == (int)Google.Rpc.Code.Internal)
            {
                LogFailed(Logger(http), exception);
            }

            return Results.Text(Json.Format(status), "application/json", statusCode: HttpStatusCodes.FromGrpc((Google.Rpc.Code)status.Code));
        }
    }

    private static ILogger Logger(HttpContext http) =>
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ReportRoutes).FullName!);

    /// <summary>The queries name the period as gRPC does; over HTTP the caller wrote from and to (both inclusive).</summary>
    private static ValidationException AsQueryParameters(ValidationException validation) =>
        new(validation.Errors.Select(e => new ValidationFailure(
            Rename(e.PropertyName),
            Rename(e.ErrorMessage).Replace("to must be after from", "to must not be before from", StringComparison.Ordinal))));

    private static string Rename(string text) =>
        text.Replace("period_start", "from", StringComparison.Ordinal).Replace("period_end", "to", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Error, Message = "A report route failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
