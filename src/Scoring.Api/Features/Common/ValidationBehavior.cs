using FluentValidation;
using Mediator;

namespace Scoring.Api.Features.Common;

/// <summary>Runs every validator of a message before its handler; a failure never reaches the handler.</summary>
public sealed class ValidationBehavior<TMessage, TResponse>(IEnumerable<IValidator<TMessage>> validators)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        var validation = Validation.EnsureValidAsync(validators, message, cancellationToken);
        // Rules that ran to completion at once (all of them here) need no state machine around the handler.
        if (!validation.IsCompletedSuccessfully)
        {
            return ValidatedAsync(validation, message, next, cancellationToken);
        }

        validation.GetAwaiter().GetResult();
        return next(message, cancellationToken);
    }

    private static async ValueTask<TResponse> ValidatedAsync(
        ValueTask validation, TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        await validation;
        return await next(message, cancellationToken);
    }
}

/// <summary>The check itself, also run on each item of a batch.</summary>
public static class Validation
{
    public static async ValueTask EnsureValidAsync<T>(IEnumerable<IValidator<T>> validators, T message, CancellationToken cancellationToken)
    {
        foreach (var validator in validators)
        {
            var result = await validator.ValidateAsync(message, cancellationToken);
            if (!result.IsValid)
            {
                throw new ValidationException(result.Errors);
            }
        }
    }
}
