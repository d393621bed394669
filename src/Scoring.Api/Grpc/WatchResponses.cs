using System.Runtime.CompilerServices;
using Grpc.Core;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Scoring.Api.Features.Standings;
using Scoring.V1;

namespace Scoring.Api.Grpc;

/// <summary>
/// How a watch's events go onto its stream. A live change is one response for every watcher in the
/// process, mapped once and encoded once (<see cref="IEncodedOnce"/>); a change with another right behind
/// it stays buffered, so a run of changes goes out in one flush.
/// </summary>
internal static class WatchResponses
{
    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    // Keyed by the item's identity (not its value), so an item lives as long as the feed hands it out.
    private static readonly ConditionalWeakTable<FeedItem, WatchStandingChangesResponse> Live = [];

    /// <summary>What sends one call's events.</summary>
    public static Func<WatchEvent, CancellationToken, Task> SenderFor(
        IServerStreamWriter<WatchStandingChangesResponse> stream, ServerCallContext context)
    {
        // A gRPC stream takes write options; JSON transcoding's writer has none (setting them throws).
        var canBuffer = context.GetHttpContext().GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is null;
        return (watched, token) =>
        {
            if (canBuffer)
            {
                stream.WriteOptions = watched is WatchEvent.Change { MoreFollows: true } ? Buffered : null;
            }

            return stream.WriteAsync(ResponseOf(watched), token);
        };
    }

    private static WatchStandingChangesResponse ResponseOf(WatchEvent watched) => watched switch
    {
        WatchEvent.Change { Shared: true } change => Live.GetValue(change.Item, static item => new WatchStandingChangesResponse { Change = item.ToProto() }),
        WatchEvent.Change change => new WatchStandingChangesResponse { Change = change.Item.ToProto() },
        WatchEvent.Bookmark bookmark => new WatchStandingChangesResponse { Bookmark = new Bookmark { Revision = bookmark.Revision.ToString() } },
        _ => throw new ArgumentOutOfRangeException(nameof(watched)),
    };
}
