using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Mediator;
using Scoring.Api.Security;
using Scoring.Api.Features.Appeals;
using Scoring.V1;
using DomainAppealDecision = Scoring.Domain.Appeals.AppealDecision;
using DomainAppealState = Scoring.Domain.Appeals.AppealState;
using DomainSeverity = Scoring.Domain.Severity;

namespace Scoring.Api.Grpc;

/// <summary>The Appeals adapter: proto in, command or query through the mediator, proto out.</summary>
public sealed class AppealsService(ISender sender) : V1.Appeals.AppealsBase
{
    [Authorize(Policy = ScoringPolicies.Write)]
    public override async Task<Appeal> SubmitAppeal(SubmitAppealRequest request, ServerCallContext context) =>
        (await sender.Send(
            new SubmitAppealCommand(request.ViolationId, request.UserId, request.Statement, request.RequestId),
            context.CancellationToken)).ToProto();

    [Authorize(Policy = ScoringPolicies.Review)]
    public override async Task<Appeal> GetAppeal(GetAppealRequest request, ServerCallContext context) =>
        (await sender.Send(new GetAppealQuery(request.AppealId), context.CancellationToken)).ToProto();

    [Authorize(Policy = ScoringPolicies.Review)]
    public override async Task<ListAppealsResponse> ListAppeals(ListAppealsRequest request, ServerCallContext context)
    {
        var page = await sender.Send(
            new ListAppealsQuery(
                [.. request.States.Select(s => (DomainAppealState)s)],
                request.Assignee,
                request.UserId,
                request.OverdueOnly,
                request.PageSize,
                request.PageToken),
            context.CancellationToken);

        var response = new ListAppealsResponse { NextPageToken = page.NextPageToken ?? "" };
        response.Appeals.AddRange(page.Appeals.Select(a => a.ToProto()));
        return response;
    }

    [Authorize(Policy = ScoringPolicies.Review)]
    public override async Task<Appeal> AssignAppeal(AssignAppealRequest request, ServerCallContext context) =>
        (await sender.Send(new AssignAppealCommand(request.AppealId, request.ReviewerId), context.CancellationToken)).ToProto();

    [Authorize(Policy = ScoringPolicies.Review)]
    public override async Task<DecideAppealResponse> DecideAppeal(DecideAppealRequest request, ServerCallContext context)
    {
        var decided = await sender.Send(
            new DecideAppealCommand(
                request.AppealId,
                request.ReviewerId,
                (DomainAppealDecision)request.Decision,
                (DomainSeverity)request.NewSeverity,
                request.Rationale),
            context.CancellationToken);

        return new DecideAppealResponse
        {
            Appeal = decided.Appeal.ToProto(),
            Score = decided.Score.ToProto(decided.Appeal.UserId),
        };
    }

    [Authorize(Policy = ScoringPolicies.Write)]
    public override async Task<Appeal> WithdrawAppeal(WithdrawAppealRequest request, ServerCallContext context) =>
        (await sender.Send(new WithdrawAppealCommand(request.AppealId, request.UserId), context.CancellationToken)).ToProto();
}
