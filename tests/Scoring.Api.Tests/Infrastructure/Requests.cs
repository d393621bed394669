using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Google.Rpc;
using Scoring.V1;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>Builders for requests and assertions on gRPC errors.</summary>
public static class Requests
{
    public static string NewUserId() => $"u-{Guid.NewGuid():N}";

    public static RecordViolationRequest Violation(
        string userId,
        string category = "spam",
        Severity severity = Severity.High,
        DateTimeOffset? occurredAt = null,
        string? eventId = null,
        string source = "mod.queue") => new()
        {
            Source = source,
            EventId = eventId ?? $"e-{Guid.NewGuid():N}",
            UserId = userId,
            Category = category,
            Severity = severity,
            OccurredAt = occurredAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
            EvidenceRef = "cid:7f3a",
            Note = "Repeated unsolicited links",
            DecidedBy = "classifier-v3",
            Automated = true,
        };

    /// <summary>Asserts the call failed with <paramref name="code"/> and returns the rich status.</summary>
    public static async Task<Google.Rpc.Status> AssertFails(StatusCode code, Func<Task> call)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, exception.StatusCode);
        return exception.GetRpcStatus() ?? new Google.Rpc.Status { Code = (int)code, Message = exception.Status.Detail };
    }

    /// <summary>Asserts INVALID_ARGUMENT whose google.rpc.BadRequest names <paramref name="field"/>.</summary>
    public static async Task AssertInvalid(string field, Func<Task> call)
    {
        var status = await AssertFails(StatusCode.InvalidArgument, call);
        AssertNamesField(status, field);
    }

    public static void AssertNamesField(Google.Rpc.Status status, string field)
    {
        Assert.Equal((int)Code.InvalidArgument, status.Code);
        var badRequest = status.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.Contains(badRequest.FieldViolations, v => v.Field == field);
    }
}
