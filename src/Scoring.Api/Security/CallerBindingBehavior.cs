using Mediator;

namespace Scoring.Api.Security;

/// <summary>A request naming the service that reports it: with authentication on, that must be the caller.</summary>
public interface IClaimsSource
{
    string Source { get; }
}

/// <summary>A request naming the reviewer who acts: with authentication on, that must be the caller.</summary>
public interface IClaimsReviewer
{
    string ReviewerId { get; }
}

/// <summary>Binds what a request claims to the authenticated caller, before validation and the handler.</summary>
public sealed class CallerBindingBehavior<TMessage, TResponse>(Caller caller) : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        CallerBinding.Check(caller, message);
        return next(message, cancellationToken);
    }
}

/// <summary>The binding check itself, also run on each item of a batch.</summary>
public static class CallerBinding
{
    public static void Check(Caller caller, object message)
    {
        if (!caller.IsAuthenticated)
        {
            return;
        }

        if (message is IClaimsSource claimsSource && claimsSource.Source != caller.ClientId)
        {
            throw new PermissionDeniedException($"source '{claimsSource.Source}' is not the calling client");
        }

        if (message is IClaimsReviewer claimsReviewer && claimsReviewer.ReviewerId != caller.Subject)
        {
            throw new PermissionDeniedException($"reviewer_id '{claimsReviewer.ReviewerId}' is not the caller");
        }
    }
}
