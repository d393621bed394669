using System.Runtime.CompilerServices;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Mediator;
using Microsoft.AspNetCore.Authorization;
using Scoring.Api.Features.Standings;
using Scoring.Api.Security;
using Scoring.V1;

namespace Scoring.Api.Grpc;

/// <summary>The Standings adapter: the feed of standing changes and the counts, for readers.</summary>
public sealed class StandingsService(ISender sender, StandingWatcher watcher) : Standings.StandingsBase
{
    [Authorize(Policy = ScoringPolicies.Read)]
    public override async Task<ListStandingChangesResponse> ListStandingChanges(ListStandingChangesRequest request, ServerCallContext context)
    {
        var page = await sender.Send(
            new ListStandingChangesQuery(request.SinceRevision, request.UserIds, request.PageSize, request.PageToken), context.CancellationToken);
        var response = new ListStandingChangesResponse { NextPageToken = page.NextPageToken ?? "", Revision = page.Revision.ToString() };
        response.Changes.AddRange(page.Changes.Select(c => c.ToProto()));
        return response;
    }

    /// <summary>A write that stays buffered until the next one: a run of changes goes out in one flush.</summary>
    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    /// <summary>
    /// One response per change, whichever watchers it goes to: mapped once, and encoded once
    /// (<see cref="WatchStandingChangesResponse"/>), rather than once per watcher.
    /// </summary>
    private static readonly ConditionalWeakTable<FeedItem, WatchStandingChangesResponse> Responses = [];

    [Authorize(Policy = ScoringPolicies.Read)]
    public override Task WatchStandingChanges(
        WatchStandingChangesRequest request, IServerStreamWriter<WatchStandingChangesResponse> responseStream, ServerCallContext context)
    {
        // A gRPC stream takes write options; JSON transcoding's writer has none (setting them throws).
        var canBuffer = context.GetHttpContext().Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
        return watcher.RunAsync(
            new WatchStandingChangesQuery(request.FromRevision, request.UserIds),
            (watched, token) =>
            {
                if (canBuffer)
                {
                    responseStream.WriteOptions = watched is WatchEvent.Change { MoreFollows: true } ? Buffered : null;
                }

                return responseStream.WriteAsync(
                    watched switch
                    {
                        WatchEvent.Change change => Responses.GetValue(change.Item, static item => new WatchStandingChangesResponse { Change = item.ToProto() }),
                        WatchEvent.Bookmark bookmark => new WatchStandingChangesResponse { Bookmark = new Bookmark { Revision = bookmark.Revision.ToString() } },
                        _ => throw new ArgumentOutOfRangeException(nameof(watched)),
                    },
                    token);
            },
            context.CancellationToken);
    }

    [Authorize(Policy = ScoringPolicies.Read)]
    public override async Task<V1.StandingCounts> GetStandingCounts(GetStandingCountsRequest request, ServerCallContext context)
    {
        var counts = await sender.Send(new GetStandingCountsQuery(), context.CancellationToken);
        var response = new V1.StandingCounts { ContestedUsers = counts.ContestedUsers, AsOf = Timestamp.FromDateTimeOffset(counts.AsOf) };
        foreach (var (standing, users) in counts.UsersByStanding)
        {
            response.UsersByStanding.Add(ProtoName(standing), users);
        }

        return response;
    }

    private static string ProtoName(Domain.Standing standing) =>
        ConductScoringReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("Standing").FindValueByNumber((int)standing).Name;
}
