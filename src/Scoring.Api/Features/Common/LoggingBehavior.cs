using System.Diagnostics;
using Mediator;

namespace Scoring.Api.Features.Common;

/// <summary>
/// Logs each message's type and duration at Debug. Message contents (user ids included) are never logged:
/// the service keeps no access log. With Debug off (production's level) it hands the message straight on,
/// without a state machine of its own: a cached read that waits on Redis would otherwise allocate one.
/// </summary>
public sealed partial class LoggingBehavior<TMessage, TResponse>(ILogger<LoggingBehavior<TMessage, TResponse>> logger, TimeProvider timeProvider)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken) =>
        logger.IsEnabled(LogLevel.Debug) ? HandleLogged(message, next, cancellationToken) : next(message, cancellationToken);

    private async ValueTask<TResponse> HandleLogged(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        try
        {
            var response = await next(message, cancellationToken);
            LogHandled(typeof(TMessage).Name, timeProvider.GetElapsedTime(started).TotalMilliseconds);
            return response;
        }
        catch (Exception exception)
        {
            LogFailed(typeof(TMessage).Name, exception.GetType().Name, timeProvider.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Message} handled in {ElapsedMs:0.0} ms")]
    private partial void LogHandled(string message, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Message} failed with {ErrorType} after {ElapsedMs:0.0} ms")]
    private partial void LogFailed(string message, string errorType, double elapsedMs);
}
