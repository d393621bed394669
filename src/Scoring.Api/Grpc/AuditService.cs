using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Mediator;
using Scoring.Api.Security;
using Scoring.Api.Features.Audit;
using Scoring.V1;

namespace Scoring.Api.Grpc;

/// <summary>The Audit adapter: proto in, query through the mediator, proto out.</summary>
public sealed class AuditService(ISender sender) : V1.Audit.AuditBase
{
    [Authorize(Policy = ScoringPolicies.Review)]
    public override async Task<ListAuditEntriesResponse> ListAuditEntries(ListAuditEntriesRequest request, ServerCallContext context)
    {
        var page = await sender.Send(
            new ListAuditEntriesQuery(request.UserId, request.TargetId, request.PageSize, request.PageToken, request.System), context.CancellationToken);

        var response = new ListAuditEntriesResponse { NextPageToken = page.NextPageToken ?? "" };
        response.Entries.AddRange(page.Entries.Select(e => e.ToProto()));
        return response;
    }

    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<VerifyAuditChainResponse> VerifyAuditChain(VerifyAuditChainRequest request, ServerCallContext context)
    {
        var verification = await sender.Send(new VerifyAuditChainQuery(request.UserId, request.System), context.CancellationToken);
        return new VerifyAuditChainResponse
        {
            Valid = verification.FirstBrokenSequence is null,
            EntriesChecked = verification.EntriesChecked,
            FirstBrokenSequence = verification.FirstBrokenSequence ?? 0,
            BreakReason = verification.Break.ToProto(),
            UnknownKeyId = verification.UnknownKeyId ?? "",
        };
    }
}
