using Grpc.Core;
using Grpc.Core.Interceptors;
using Scoring.Api.Features.Common;

namespace Scoring.Api.Grpc;

/// <summary>
/// Turns every exception a service method throws into a deliberate status (gRPC would otherwise answer
/// UNKNOWN). Unexpected errors are logged here and reach the client only as a generic INTERNAL.
/// </summary>
public sealed partial class ExceptionInterceptor(ILogger<ExceptionInterceptor> logger, TimeProvider timeProvider) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Task<TResponse> call;
        try
        {
            call = continuation(request, context);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }

        // A call answered at once (a cached read) is passed on as it is: no second task and state machine.
        return call.IsCompletedSuccessfully ? call : AwaitAsync(call, context);
    }

    private async Task<TResponse> AwaitAsync<TResponse>(Task<TResponse> call, ServerCallContext context)
    {
        try
        {
            return await call;
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    private RpcException Map(Exception exception, ServerCallContext context)
    {
        var status = ExceptionStatus.From(exception);
        context.GetHttpContext().Items[HttpStatusCodes.GrpcStatusKey] = status.Code;
        if (status.Code == (int)Google.Rpc.Code.Cancelled && context.Deadline <= timeProvider.GetUtcNow().UtcDateTime)
        {
            status.Code = (int)Google.Rpc.Code.DeadlineExceeded;
            status.Message = "The deadline passed before the call completed.";
        }

        if (exception is UnavailableException)
        {
            // Backpressure (a full write queue, a stopping process) is expected under load: no stack trace per call.
            LogRefused(context.Method, exception.Message);
        }
        else if (status.Code is (int)Google.Rpc.Code.Internal or (int)Google.Rpc.Code.Unavailable)
        {
            LogFailure(context.Method, (StatusCode)status.Code, exception);
        }

        return status.ToRpcException();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} refused: {Reason}")]
    private partial void LogRefused(string method, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} failed with {StatusCode}")]
    private partial void LogFailure(string method, StatusCode statusCode, Exception exception);
}
