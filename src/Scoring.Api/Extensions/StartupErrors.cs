using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Scoring.Api.Infrastructure.Policies;

namespace Scoring.Api.Extensions;

/// <summary>A setting that stops start-up; the message names the setting and what is wrong with it.</summary>
public sealed class InvalidConfigurationException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// Turns what stops start-up because of the deployment's settings into one line for stderr, so an operator
/// reads the setting and the problem instead of a stack trace. Anything else is a bug and keeps its trace.
/// </summary>
public static class StartupErrors
{
    /// <summary>The line to print, or null when <paramref name="exception"/> is not a settings problem.</summary>
    public static string? Describe(Exception exception) => exception switch
    {
        InvalidConfigurationException or InvalidPolicyException => OneLine(exception.Message),
        OptionsValidationException options => OneLine(string.Join("; ", options.Failures.Select(f => InSettingTerms(f, options.OptionsType)))),
        // The configuration binder's own refusal of a value ("Failed to convert configuration value 'x' at 'Auth:Mode' …").
        InvalidOperationException when exception.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) =>
            OneLine(exception.Message),
        // Kestrel's "Failed to bind to address http://…: address already in use": a port setting that clashes.
        IOException io when io.Message.StartsWith("Failed to bind to address", StringComparison.Ordinal) =>
            OneLine($"{io.Message} Choose another port (--urls, Hosting:HttpPort, Hosting:MetricsPort) or stop what holds it."),
        AggregateException aggregate when aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(e => Describe(e) is not null) =>
            string.Join("; ", aggregate.InnerExceptions.Select(Describe)),
        _ => null,
    };

    /// <summary>
    /// Data-annotation failures name members as <c>RateLimitOptions.Writer.Burst</c>; an operator sets
    /// <c>RateLimit:Writer:Burst</c>, so that is the name printed.
    /// </summary>
    private static string InSettingTerms(string failure, Type optionsType)
    {
        if (optionsType.GetField("SectionName")?.GetRawConstantValue() is not string section)
        {
            return failure;
        }

        // The generator prefixes the member's own name ("Burst: The field …"), which the full path makes redundant.
        var message = Regex.Replace(failure, @"^\w+: (?=The field )", "");
        return Regex.Replace(message, $@"\b{Regex.Escape(optionsType.Name)}((?:\.\w+)+)", m => section + m.Groups[1].Value.Replace('.', ':'));
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
