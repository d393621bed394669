using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Mediator;
using Microsoft.AspNetCore.Authorization;
using Scoring.Api.Features.Privacy;
using Scoring.Api.Security;
using Scoring.Domain.Policies;
using Scoring.V1;

namespace Scoring.Api.Grpc;

/// <summary>The Privacy adapter (administrators only): proto in, command or query through the mediator, proto out.</summary>
public sealed class PrivacyService(ISender sender, ScoringPolicy policy) : V1.Privacy.PrivacyBase
{
    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<ExportUserDataResponse> ExportUserData(ExportUserDataRequest request, ServerCallContext context)
    {
        var export = await sender.Send(new ExportUserDataQuery(request.UserId), context.CancellationToken);
        var response = new ExportUserDataResponse
        {
            UserId = export.UserId,
            ExportedAt = Timestamp.FromDateTimeOffset(export.ExportedAt),
            Score = export.Score.ToProto(export.UserId),
        };
        response.Violations.AddRange(export.Violations.Select(v => v.ToProto(policy, export.ExportedAt)));
        response.Appeals.AddRange(export.Appeals.Select(a => a.ToProto()));
        response.AuditEntries.AddRange(export.AuditEntries.Select(e => e.ToProto()));
        response.StandingChanges.AddRange(export.StandingChanges.Select(c => c.ToProto()));
        return response;
    }

    [Authorize(Policy = ScoringPolicies.Admin)]
    public override async Task<EraseUserResponse> EraseUser(EraseUserRequest request, ServerCallContext context)
    {
        var erasure = await sender.Send(new EraseUserCommand(request.UserId, request.Reason), context.CancellationToken);
        return new EraseUserResponse
        {
            UserId = erasure.UserId,
            ViolationsErased = erasure.ViolationsErased,
            AppealsErased = erasure.AppealsErased,
            ErasedAt = Timestamp.FromDateTimeOffset(erasure.ErasedAt),
        };
    }
}
