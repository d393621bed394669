using System.Globalization;
using Google.Protobuf;

namespace Scoring.Api.Security;

/// <summary>
/// Writes a call's refusal before it reaches a service (authentication, authorization, rate limit) in the
/// caller's protocol: to a gRPC client a trailers-only response whose grpc-status it understands (a bare
/// HTTP 401, 403 or 429 would reach it as a different code with no reason); to an HTTP/JSON client the
/// HTTP status with a <c>google.rpc.Status</c> body, as the transcoded RPCs answer their own errors.
/// </summary>
public static class Refusal
{
    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    public static Task WriteAsync(HttpContext context, Google.Rpc.Code code, int httpStatus, string message)
    {
        var response = context.Response;
        if (IsGrpc(context.Request))
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers["grpc-status"] = ((int)code).ToString(CultureInfo.InvariantCulture);
            response.Headers["grpc-message"] = message;
            return Task.CompletedTask;
        }

        response.StatusCode = httpStatus;
        response.ContentType = "application/json; charset=utf-8";
        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        return response.WriteAsync(JsonFormatter.Default.Format(status), context.RequestAborted);
    }
}
