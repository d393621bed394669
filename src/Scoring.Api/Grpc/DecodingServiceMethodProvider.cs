using System.Buffers;
using System.Reflection;
using System.Text;
using System.Text.Unicode;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Rpc;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;

namespace Scoring.Api.Grpc;

/// <summary>
/// Binds every gRPC service the way grpc-dotnet's own (internal) <c>BinderServiceMethodProvider</c> does,
/// with the same endpoint metadata ([Authorize] and the other attributes of the class and the method), but
/// with a request deserializer that answers an undecodable message (not protobuf, truncated, or a string
/// that is not valid UTF-8) with INVALID_ARGUMENT. grpc-dotnet decodes the request before any interceptor
/// runs and answers UNKNOWN for any exception other than an <see cref="RpcException"/>, whose status it
/// sends as is; the marshaller is the only hook before that point. A response encoded once for many
/// streams (<see cref="IEncodedOnce"/>) is written from its kept bytes.
/// </summary>
internal sealed class DecodingServiceMethodProvider<TService> : IServiceMethodProvider<TService>
    where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        var bind = FindBindMethod(typeof(TService));
        if (bind is null)
        {
            return;
        }

        // BindService(ServiceBinderBase binder, TServiceBase service): the second parameter names the generated base class.
        bind.Invoke(null, [new Binder(context, bind.GetParameters()[1].ParameterType), null]);
    }

    private static MethodInfo? FindBindMethod(Type serviceType)
    {
        for (var type = serviceType; type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>() is { } attribute)
            {
                return attribute.BindType.GetMethod(
                    attribute.BindMethodName, BindingFlags.Public | BindingFlags.Static, [typeof(ServiceBinderBase), type]);
            }
        }

        return null;
    }

    private sealed class Binder(ServiceMethodProviderContext<TService> context, Type serviceBase) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<UnaryServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(ServerCallContext));
            context.AddUnaryMethod(Decoding(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<ServerStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name, typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddServerStreamingMethod(Decoding(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<ClientStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext));
            context.AddClientStreamingMethod(Decoding(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddDuplexStreamingMethod(Decoding(method), metadata, invoker);
        }

        private (TDelegate Invoker, List<object> Metadata) Handler<TDelegate>(string name, params Type[] parameters)
            where TDelegate : Delegate
        {
            var implementation = FindOverride(name, parameters)
                ?? throw new InvalidOperationException($"Could not find '{name}' on {typeof(TService)}.");

            // The class's attributes first and the method's last, so the method's win; then the route's HTTP method.
            List<object> metadata = [.. typeof(TService).GetCustomAttributes(inherit: true), .. implementation.GetCustomAttributes(inherit: true)];
            metadata.Add(new HttpMethodMetadata(["POST"], acceptCorsPreflight: true));
            return ((TDelegate)Delegate.CreateDelegate(typeof(TDelegate), implementation), metadata);
        }

        /// <summary>The public instance method overriding the generated base's virtual one (a method that only hides it is skipped).</summary>
        private MethodInfo? FindOverride(string name, Type[] parameters)
        {
            for (var type = typeof(TService); type is not null; type = type.BaseType)
            {
                var candidate = type.GetMethod(name, BindingFlags.Public | BindingFlags.Instance, parameters);
                if (candidate is null)
                {
                    return null;
                }

                if (candidate.IsVirtual && candidate.GetBaseDefinition().DeclaringType == serviceBase)
                {
                    return candidate;
                }
            }

            return null;
        }
    }

    private static Method<TRequest, TResponse> Decoding<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class
    {
        var marshaller = method.RequestMarshaller;
        var descriptor = typeof(TRequest).GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as MessageDescriptor;
        var decoding = new Marshaller<TRequest>(marshaller.ContextualSerializer, (DeserializationContext payload) =>
        {
            try
            {
                return marshaller.ContextualDeserializer(payload);
            }
            // Google.Protobuf wraps invalid UTF-8 in its own exception; the decoder's is caught too, should that ever change.
            catch (Exception exception) when (exception is InvalidProtocolBufferException or DecoderFallbackException)
            {
                throw UndecodableRequest.Status(descriptor, payload.PayloadAsReadOnlySequence().ToArray()).ToRpcException();
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, decoding, EncodedOnce(method.ResponseMarshaller));
    }

    /// <summary>For a response sent unchanged on many streams (<see cref="IEncodedOnce"/>): its kept bytes, written as they are.</summary>
    private static Marshaller<TResponse> EncodedOnce<TResponse>(Marshaller<TResponse> marshaller)
        where TResponse : class =>
        typeof(IEncodedOnce).IsAssignableFrom(typeof(TResponse))
            ? new Marshaller<TResponse>(
                static (response, context) => context.Complete(((IEncodedOnce)response).Encoded()), marshaller.ContextualDeserializer)
            : marshaller;
}

/// <summary>The answer to a request that is not a valid protobuf message of its method's type.</summary>
internal static class UndecodableRequest
{
    public static Google.Rpc.Status Status(MessageDescriptor? descriptor, byte[] payload)
    {
        // Google.Protobuf reports invalid UTF-8 as just another InvalidProtocolBufferException; a second look names the field.
        var field = descriptor is null ? null : FindInvalidUtf8(descriptor, payload, prefix: "");
        if (field is null)
        {
            return new Google.Rpc.Status
            {
                Code = (int)Code.InvalidArgument,
                Message = "Invalid request: the message could not be decoded as protobuf.",
            };
        }

        var description = $"{field} is not valid UTF-8";
        var badRequest = new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = field, Description = description } } };
        return new Google.Rpc.Status
        {
            Code = (int)Code.InvalidArgument,
            Message = $"Invalid request: {description}",
            Details = { Google.Protobuf.WellKnownTypes.Any.Pack(badRequest) },
        };
    }

    /// <summary>
    /// Walks the wire format with the descriptor to name the first string field (by proto path) whose bytes are not
    /// valid UTF-8; only run once decoding has already failed. Null when the bytes end before such a field is found.
    /// </summary>
    private static string? FindInvalidUtf8(MessageDescriptor descriptor, byte[] payload, string prefix)
    {
        var occurrences = new Dictionary<int, int>();
        var input = new CodedInputStream(payload);
        try
        {
            for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                var number = WireFormat.GetTagFieldNumber(tag);
                var field = descriptor.FindFieldByNumber(number);
                if (field is null || WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited
                    || field.FieldType is not (FieldType.String or FieldType.Message))
                {
                    input.SkipLastField();
                    continue;
                }

                var index = occurrences[number] = occurrences.GetValueOrDefault(number, -1) + 1;
                var path = prefix + field.Name + (field.IsRepeated ? $"[{index}]" : "");
                var bytes = input.ReadBytes().ToByteArray();
                var found = field.FieldType == FieldType.String
                    ? (Utf8.IsValid(bytes) ? null : path)
                    : FindInvalidUtf8(field.MessageType, bytes, path + ".");
                if (found is not null)
                {
                    return found;
                }
            }
        }
        catch (InvalidProtocolBufferException)
        {
            // Broken framing as well: nothing more to name.
        }

        return null;
    }
}

public static class DecodingServiceMethodProviderExtensions
{
    /// <summary>
    /// Puts <see cref="DecodingServiceMethodProvider{TService}"/> in place of grpc-dotnet's binder, for every service
    /// (ours, health, reflection). Call after the last <c>AddGrpc</c>: that call would register the binder again,
    /// and both together would map every method twice.
    /// </summary>
    public static IServiceCollection AddGrpcDecodingErrorsAsInvalidArgument(this IServiceCollection services)
    {
        var binder = services.SingleOrDefault(d => d.ServiceType == typeof(IServiceMethodProvider<>)
                && d.ImplementationType is { IsGenericTypeDefinition: true, Name: "BinderServiceMethodProvider`1" })
            ?? throw new InvalidOperationException("grpc-dotnet's BinderServiceMethodProvider is not registered: call AddGrpc first (or grpc-dotnet renamed it).");
        services.Remove(binder);
        services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(DecodingServiceMethodProvider<>));
        return services;
    }
}
