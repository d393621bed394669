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

    [Authorize(Policy = ScoringPolicies.Read)]
    public override Task WatchStandingChanges(
        WatchStandingChangesRequest request, IServerStreamWriter<WatchStandingChangesResponse> responseStream, ServerCallContext context) =>
        watcher.RunAsync(
            new WatchStandingChangesQuery(request.FromRevision, request.UserIds), WatchResponses.SenderFor(responseStream, context), context.CancellationToken);

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
