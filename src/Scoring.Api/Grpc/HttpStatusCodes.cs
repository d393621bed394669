namespace Scoring.Api.Grpc;

/// <summary>
/// The HTTP status of a transcoded call's error where it differs from JSON transcoding's own mapping, which
/// answers FAILED_PRECONDITION with 400 (as Google's APIs do). Here a workflow rule refusing the change
/// (the appeal is decided, the window closed) is 412 Precondition Failed, so a client tells it apart from
/// a malformed request without reading the body. <see cref="ExceptionInterceptor"/> records the call's
/// gRPC status; the status line is corrected just before the response starts.
/// </summary>
public static class HttpStatusCodes
{
    public const string GrpcStatusKey = "scoring.grpc-status";

    /// <summary>The HTTP status of a gRPC status code, as this service answers it over HTTP (the console's pages too).</summary>
    public static int FromGrpc(Google.Rpc.Code code) => code switch
    {
        Google.Rpc.Code.Ok => StatusCodes.Status200OK,
        Google.Rpc.Code.InvalidArgument or Google.Rpc.Code.OutOfRange => StatusCodes.Status400BadRequest,
        Google.Rpc.Code.Unauthenticated => StatusCodes.Status401Unauthorized,
        Google.Rpc.Code.PermissionDenied => StatusCodes.Status403Forbidden,
        Google.Rpc.Code.NotFound => StatusCodes.Status404NotFound,
        Google.Rpc.Code.AlreadyExists or Google.Rpc.Code.Aborted => StatusCodes.Status409Conflict,
        Google.Rpc.Code.FailedPrecondition => StatusCodes.Status412PreconditionFailed,
        Google.Rpc.Code.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        Google.Rpc.Code.Cancelled => 499,
        Google.Rpc.Code.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static void CorrectOnStart(HttpContext context) =>
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            if (http.Items[GrpcStatusKey] is (int)Google.Rpc.Code.FailedPrecondition && http.Response.StatusCode == StatusCodes.Status400BadRequest)
            {
                http.Response.StatusCode = StatusCodes.Status412PreconditionFailed;
            }

            return Task.CompletedTask;
        }, context);
}
