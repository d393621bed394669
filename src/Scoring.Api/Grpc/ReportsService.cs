using Grpc.Core;
using Mediator;
using Microsoft.AspNetCore.Authorization;
using Scoring.Api.Security;
using Scoring.V1;

namespace Scoring.Api.Grpc;

/// <summary>The Reports adapter: proto in, query through the mediator, proto out.</summary>
[Authorize(Policy = ScoringPolicies.Reports)]
public sealed class ReportsService(ISender sender) : V1.Reports.ReportsBase
{
    public override async Task<V1.TransparencyReport> GetTransparencyReport(GetTransparencyReportRequest request, ServerCallContext context) =>
        (await sender.Send(request.ToQuery(), context.CancellationToken)).ToProto();

    public override async Task ExportStatementsOfReasons(
        ExportStatementsOfReasonsRequest request, IServerStreamWriter<ExportStatementsOfReasonsResponse> responseStream, ServerCallContext context)
    {
        var batches = await sender.Send(request.ToQuery(), context.CancellationToken);
        await foreach (var batch in batches.WithCancellation(context.CancellationToken))
        {
            await responseStream.WriteAsync(batch.ToProto(), context.CancellationToken);
        }
    }
}
