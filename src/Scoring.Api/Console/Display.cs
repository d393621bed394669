using System.Globalization;
using Microsoft.AspNetCore.Html;
using Scoring.Domain;
using Scoring.Domain.Appeals;

namespace Scoring.Api.Console;

/// <summary>How the console writes values: times in UTC (the browser shows them in the reviewer's zone), names in words.</summary>
public static class Display
{
    /// <summary>A time element: the page's script shows it in the reviewer's time zone; UTC stays on hover.</summary>
    public static IHtmlContent Time(DateTimeOffset? at)
    {
        if (at is not { } value)
        {
            return new HtmlString("—");
        }

        var utc = value.UtcDateTime;
        var iso = utc.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var text = utc.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        return new HtmlString($"<time datetime=\"{iso}\" title=\"{text}\">{text}</time>");
    }

    /// <summary>Time left until <paramref name="due"/>, or how long overdue.</summary>
    public static string Due(DateTimeOffset due, DateTimeOffset now) =>
        due >= now ? $"{Span(due - now)} left" : $"overdue by {Span(now - due)}";

    public static string Span(TimeSpan span) => span switch
    {
        { TotalDays: >= 1 } => $"{(int)span.TotalDays}d {span.Hours}h",
        { TotalHours: >= 1 } => $"{(int)span.TotalHours}h {span.Minutes}m",
        _ => $"{Math.Max(0, (int)span.TotalMinutes)}m",
    };

    public static string Name(Standing standing) => standing.ToString().ToLowerInvariant();

    public static string Name(Severity severity) => severity.ToString().ToLowerInvariant();

    public static string Name(AppealState state) => state switch
    {
        AppealState.InReview => "in review",
        _ => state.ToString().ToLowerInvariant(),
    };

    public static string Points(double points) => points.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>An evidence reference is a link only when it is an http(s) URL; anything else (javascript:, data:) stays text.</summary>
    public static bool IsWebLink(string? reference, out Uri? uri) =>
        Uri.TryCreate(reference, UriKind.Absolute, out uri) && uri.Scheme is "https" or "http";
}
