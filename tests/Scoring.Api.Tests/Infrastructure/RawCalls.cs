using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>Calls that send bytes the generated clients never would: any payload, and any gRPC frame.</summary>
public static class RawCalls
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(bytes => bytes, bytes => bytes);

    /// <summary>A unary call whose request message is <paramref name="payload"/> as is, framed by the client.</summary>
    public static Task<byte[]> UnaryAsync(this ScoringApp app, string service, string method, byte[] payload) =>
        app.Channel.CreateCallInvoker()
            .AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, service, method, Bytes, Bytes), null, new CallOptions(), payload)
            .ResponseAsync;

    /// <summary>A gRPC frame: the compressed flag, the big-endian length, then the message.</summary>
    public static byte[] Frame(byte[] message, byte compressed = 0, int? declaredLength = null)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = compressed;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), declaredLength ?? message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>
    /// Posts <paramref name="body"/> as the whole HTTP/2 request body of a gRPC call and returns the grpc-status
    /// the server answered (from the trailers, or the headers of a trailers-only response).
    /// </summary>
    public static async Task<StatusCode> PostBodyAsync(this ScoringApp app, string service, string method, byte[] body)
    {
        using var client = new HttpClient(app.Server.CreateHandler()) { BaseAddress = app.Server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{service}/{method}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var trailer) ? trailer
            : response.Headers.TryGetValues("grpc-status", out var header) ? header
            : throw new InvalidOperationException($"No grpc-status in the answer (HTTP {(int)response.StatusCode}).");
        return (StatusCode)int.Parse(status.Single(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
