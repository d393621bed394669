using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Mediator;
using Scoring.Api.Security;
using Scoring.Api.Features.Policies;
using Scoring.Api.Features.Scores;
using Scoring.Api.Features.Violations;
using Scoring.Domain.Policies;
using Scoring.V1;

namespace Scoring.Api.Grpc;

/// <summary>The ConductScoring adapter: proto in, command or query through the mediator, proto out.</summary>
public sealed class ConductScoringService(ISender sender, ScoringPolicy policy, TimeProvider timeProvider)
    : ConductScoring.ConductScoringBase
{
    [Authorize(Policy = ScoringPolicies.Write)]
    public override async Task<RecordViolationResponse> RecordViolation(RecordViolationRequest request, ServerCallContext context)
    {
        var result = await sender.Send(request.ToCommand(), context.CancellationToken);
        return new RecordViolationResponse
        {
            Violation = result.Violation.ToProto(policy, result.Score.ComputedAt),
            Score = result.Score.ToProto(result.Violation.UserId),
            Duplicate = result.Duplicate,
        };
    }

    [Authorize(Policy = ScoringPolicies.Write)]
    public override async Task<RecordViolationsResponse> RecordViolations(RecordViolationsRequest request, ServerCallContext context)
    {
        var results = await sender.Send(
            new RecordViolationsCommand([.. request.Violations.Select(v => v.ToCommand())]), context.CancellationToken);

        var response = new RecordViolationsResponse();
        foreach (var item in results)
        {
            response.Results.Add(item.Violation is { } violation
                ? new RecordViolationResult
                {
                    Violation = violation.ToProto(policy, item.At),
                    Duplicate = item.Duplicate,
                }
                : new RecordViolationResult { Error = ExceptionStatus.From(item.Error!) });
        }

        return response;
    }

    [Authorize(Policy = ScoringPolicies.Read)]
    public override async Task<UserScore> GetScore(GetScoreRequest request, ServerCallContext context)
    {
        var score = await sender.Send(new GetScoreQuery(request.UserId, request.IncludeBreakdown), context.CancellationToken);
        return score.ToProto(request.UserId);
    }

    [Authorize(Policy = ScoringPolicies.Read)]
    public override async Task<GetScoresResponse> GetScores(GetScoresRequest request, ServerCallContext context)
    {
        var userIds = request.UserIds.ToArray();
        var scores = await sender.Send(new GetScoresQuery(userIds), context.CancellationToken);

        var response = new GetScoresResponse();
        for (var i = 0; i < scores.Length; i++)
        {
            response.Scores.Add(scores[i].ToProto(userIds[i]));
        }

        return response;
    }

    [Authorize(Policy = ScoringPolicies.Review)]
    public override async Task<ListViolationsResponse> ListViolations(ListViolationsRequest request, ServerCallContext context)
    {
        var page = await sender.Send(
            new ListViolationsQuery(request.UserId, request.PageSize, request.PageToken, request.IncludeInactive),
            context.CancellationToken);

        var now = timeProvider.GetUtcNow();
        var response = new ListViolationsResponse { NextPageToken = page.NextPageToken ?? "" };
        response.Violations.AddRange(page.Violations.Select(v => v.ToProto(policy, now)));
        return response;
    }

    [Authorize(Policy = ScoringPolicies.Read)]
    public override async Task<Policy> GetPolicy(GetPolicyRequest request, ServerCallContext context) =>
        (await sender.Send(new GetPolicyQuery(), context.CancellationToken)).ToProto();
}
