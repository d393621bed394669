using System.Text.Encodings.Web;
using Scoring.Api.Grpc;

namespace Scoring.Api.Console;

/// <summary>
/// A console page that fails is answered with a small page saying why, with the HTTP status the same
/// failure gets on the API (one mapping, <see cref="ExceptionStatus"/>): a missing appeal is 404, a
/// malformed filter 400, the database down 503, anything else a generic 500 (logged whole).
/// </summary>
public sealed partial class ConsoleErrors(RequestDelegate next, ILogger<ConsoleErrors> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            var status = ExceptionStatus.From(exception);
            var code = HttpStatusCodes.FromGrpc((Google.Rpc.Code)status.Code);
            if (code >= StatusCodes.Status500InternalServerError)
            {
                LogFailed(logger, exception);
            }

            context.Response.Clear();
            context.Response.StatusCode = code;
            context.Response.ContentType = "text/html; charset=utf-8";
            var message = HtmlEncoder.Default.Encode(status.Message);
            await context.Response.WriteAsync($"""
                <!DOCTYPE html>
                <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
                <title>Something went wrong · Scoring console</title><link rel="icon" href="data:,">
                <link rel="stylesheet" href="{ConsoleExtensions.Asset("console.css")}"></head>
                <body><main id="main"><h1>Something went wrong</h1><p class="outcome" role="alert" id="error">{message}</p>
                <p><a href="{ConsoleExtensions.Path}">Back to the queue</a></p></main></body></html>
                """);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A console page failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
