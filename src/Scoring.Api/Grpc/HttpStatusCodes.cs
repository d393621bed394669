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
