namespace Scoring.Api.Grpc;

/// <summary>
/// A response message sent unchanged on many streams (one change of the feed to every watcher): its bytes
/// are computed once and written as they are on each stream (<see cref="DecodingServiceMethodProvider{TService}"/>
/// gives such responses a marshaller that does so). The message must not change once sent.
/// </summary>
internal interface IEncodedOnce
{
    /// <summary>The message's protobuf encoding, computed on first use and kept.</summary>
    byte[] Encoded();
}
