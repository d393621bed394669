using Google.Protobuf;
using Scoring.Api.Grpc;

namespace Scoring.V1;

/// <summary>A live change of the feed goes to every watcher as the same instance (<see cref="WatchResponses"/>), encoded once.</summary>
public sealed partial class WatchStandingChangesResponse : IEncodedOnce
{
    private byte[]? _encoded;

    // Two streams encoding it at once compute the same bytes; either copy may be the one kept.
    byte[] IEncodedOnce.Encoded() => _encoded ??= this.ToByteArray();
}
