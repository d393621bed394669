using FluentValidation;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Scoring.Api.Features.Common;
using Scoring.Api.Features.Standings;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Security;
using Scoring.Domain;
using Status = Google.Rpc.Status;

namespace Scoring.Api.Grpc;

/// <summary>
/// The one mapping from exceptions to gRPC statuses, used by the interceptor for whole calls and by
/// batch calls for their items. Client mistakes never come out as INTERNAL, and no exception text
/// from infrastructure reaches a client.
/// </summary>
public static class ExceptionStatus
{
    public const string InternalMessage = "An internal error occurred.";

    public static Status From(Exception exception) => exception switch
    {
        ValidationException validation => InvalidArgument(validation),
        FeedCompactedException compacted => WithInfo(Code.OutOfRange, compacted.Message, "REVISION_COMPACTED", "oldest_revision", compacted.Oldest.ToString()),
        RevisionAheadException ahead => WithInfo(Code.OutOfRange, ahead.Message, "REVISION_AHEAD", "current_revision", ahead.Current.ToString()),
        WatcherFellBehindException behind => WithInfo(Code.ResourceExhausted, behind.Message, "WATCHER_FELL_BEHIND", "last_revision", behind.LastDelivered.ToString()),
        NotFoundException notFound => Simple(Code.NotFound, notFound.Message),
        PermissionDeniedException denied => Simple(Code.PermissionDenied, denied.Message),
        ConflictException conflict => Simple(Code.AlreadyExists, conflict.Message),
        DomainException rule => Simple(Code.FailedPrecondition, rule.Message),
        UnavailableException unavailable => Simple(Code.Unavailable, unavailable.Message),
        AbortedException aborted => Simple(Code.Aborted, aborted.Message),
        Domain.Policies.StaleVersionException stale => Simple(Code.Aborted, stale.Message),
        _ when DatabaseErrors.IsUnavailable(exception) => Simple(Code.Unavailable, "The database is unavailable; retry later."),
        OperationCanceledException => Simple(Code.Cancelled, "The call was cancelled."),
        _ => Simple(Code.Internal, InternalMessage),
    };

    private static Status InvalidArgument(ValidationException validation)
    {
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(validation.Errors.Select(e => new BadRequest.Types.FieldViolation
        {
            Field = e.PropertyName,
            Description = e.ErrorMessage,
        }));

        var fields = string.Join("; ", validation.Errors.Select(e => e.ErrorMessage).Distinct());
        return new Status
        {
            Code = (int)Code.InvalidArgument,
            Message = $"Invalid request: {fields}",
            Details = { Any.Pack(badRequest) },
        };
    }

    private static Status Simple(Code code, string message) => new() { Code = (int)code, Message = message };

    /// <summary>A status with a machine-readable reason and the one value a client needs to carry on.</summary>
    private static Status WithInfo(Code code, string message, string reason, string key, string value) => new()
    {
        Code = (int)code,
        Message = message,
        Details = { Any.Pack(new ErrorInfo { Reason = reason, Domain = "scoring.v1", Metadata = { [key] = value } }) },
    };
}
