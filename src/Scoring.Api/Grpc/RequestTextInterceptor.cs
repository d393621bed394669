using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Scoring.Api.Grpc;

/// <summary>
/// Refuses a request whose strings hold control characters or noncharacters before any handler or query
/// runs, the same way on every database. Registered inside <see cref="ExceptionInterceptor"/>, which turns
/// the validation failure into INVALID_ARGUMENT naming each field by its proto path.
/// </summary>
public sealed class RequestTextInterceptor : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(request);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(request);
        return continuation(request, responseStream, context);
    }

    private static void Check<TRequest>(TRequest request)
    {
        if (request is IMessage message)
        {
            RequestText.EnsureClean(message);
        }
    }
}
