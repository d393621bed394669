using Grpc.Core;
using Mediator;
using Microsoft.AspNetCore.Authorization;
using Scoring.Api.Features.Policies;
using Scoring.Api.Security;
using Scoring.V1;

namespace Scoring.Api.Grpc;

/// <summary>The Policies adapter: proto in, command or query through the mediator, proto out.</summary>
public sealed class PoliciesService(ISender sender) : V1.Policies.PoliciesBase
{
    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<PolicyVersion> CreatePolicyDraft(CreatePolicyDraftRequest request, ServerCallContext context) =>
        (await sender.Send(
            new CreatePolicyDraftCommand(
                request.SourceCase == CreatePolicyDraftRequest.SourceOneofCase.Policy ? request.Policy.FromProto() : null,
                request.SourceCase == CreatePolicyDraftRequest.SourceOneofCase.FromVersion ? request.FromVersion : null,
                request.Version,
                request.Description),
            context.CancellationToken)).ToProto();

    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<PolicyVersion> UpdatePolicyDraft(UpdatePolicyDraftRequest request, ServerCallContext context) =>
        (await sender.Send(new UpdatePolicyDraftCommand(request.Version, request.Policy?.FromProto(), request.Description, request.Etag), context.CancellationToken)).ToProto();

    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<PolicyVersion> PublishPolicyDraft(PublishPolicyDraftRequest request, ServerCallContext context) =>
        (await sender.Send(new PublishPolicyDraftCommand(request.Version, request.Etag), context.CancellationToken)).ToProto();

    [Authorize(Policy = ScoringPolicies.Read)]
    public override async Task<PolicyVersion> GetPolicyVersion(GetPolicyVersionRequest request, ServerCallContext context) =>
        (await sender.Send(new GetPolicyVersionQuery(request.Version), context.CancellationToken)).ToProto();

    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<PolicySimulation> StartPolicySimulation(StartPolicySimulationRequest request, ServerCallContext context) =>
        (await sender.Send(
            new StartPolicySimulationCommand(request.CandidateVersion, request.BaselineVersion, request.AsOf?.ToInstant()),
            context.CancellationToken)).ToProto();

    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<PolicySimulation> GetPolicySimulation(GetPolicySimulationRequest request, ServerCallContext context) =>
        (await sender.Send(new GetPolicySimulationQuery(request.SimulationId), context.CancellationToken)).ToProto();

    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<ListPolicySimulationsResponse> ListPolicySimulations(ListPolicySimulationsRequest request, ServerCallContext context)
    {
        var page = await sender.Send(new ListPolicySimulationsQuery(request.PageSize, request.PageToken), context.CancellationToken);
        var response = new ListPolicySimulationsResponse { NextPageToken = page.NextPageToken ?? "" };
        response.Simulations.AddRange(page.Simulations.Select(s => s.ToProto()));
        return response;
    }

    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<PolicySimulation> CancelPolicySimulation(CancelPolicySimulationRequest request, ServerCallContext context) =>
        (await sender.Send(new CancelPolicySimulationCommand(request.SimulationId), context.CancellationToken)).ToProto();

    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<ActivatePolicyResponse> ActivatePolicy(ActivatePolicyRequest request, ServerCallContext context)
    {
        var activation = await sender.Send(new ActivatePolicyCommand(request.Version, request.Reason), context.CancellationToken);
        return new ActivatePolicyResponse { Activated = activation.Activated.ToProto(), Retired = activation.Retired?.ToProto() };
    }

    [Authorize(Policy = ScoringPolicies.Read)]
    public override async Task<ListPolicyVersionsResponse> ListPolicyVersions(ListPolicyVersionsRequest request, ServerCallContext context)
    {
        var page = await sender.Send(new ListPolicyVersionsQuery(request.PageSize, request.PageToken), context.CancellationToken);
        var response = new ListPolicyVersionsResponse { NextPageToken = page.NextPageToken ?? "" };
        response.Versions.AddRange(page.Versions.Select(v => v.ToProto()));
        return response;
    }
}
