using System.Text.Json;

namespace Scoring.Faults.Tests.Infrastructure;

/// <summary>Reads the service's JSON console log: its errors, one line per kind, with where they were thrown.</summary>
public static class ServiceLog
{
    /// <summary>
    /// Each distinct error or critical entry as "message: exception (first frames in Scoring code)",
    /// calls the service answered INTERNAL or UNKNOWN first: those are what a failed check is about.
    /// </summary>
    public static IReadOnlyList<string> ErrorKinds(IEnumerable<string> lines, int take) =>
        [.. lines.Select(Summarize).OfType<string>().Distinct(StringComparer.Ordinal)
            .OrderBy(kind => AnsweredInternal(kind) ? 0 : 1).Take(take)];

    /// <summary>The distinct entries of calls the service answered INTERNAL or UNKNOWN, with where they were thrown.</summary>
    public static IReadOnlyList<string> InternalKinds(IEnumerable<string> lines, int take) =>
        [.. lines.Select(Summarize).OfType<string>().Where(AnsweredInternal).Distinct(StringComparer.Ordinal).Take(take)];

    // The exception interceptor's "{Method} failed with Internal", or grpc-dotnet's own for an unmapped exception.
    private static bool AnsweredInternal(string kind) =>
        kind.Contains(" failed with Internal", StringComparison.Ordinal)
        || kind.Contains(" failed with Unknown", StringComparison.Ordinal)
        || kind.StartsWith("Error when executing service method", StringComparison.Ordinal);

    private static string? Summarize(string line)
    {
        if (!line.StartsWith('{'))
        {
            return null;
        }

        try
        {
            using var entry = JsonDocument.Parse(line);
            var root = entry.RootElement;
            if (root.GetProperty("LogLevel").GetString() is not ("Error" or "Critical"))
            {
                return null;
            }

            // Some messages (EF Core's) carry the whole exception again after their first line.
            var message = root.GetProperty("Message").GetString()?.Split('\n')[0];
            if (!root.TryGetProperty("Exception", out var exception) || exception.GetString() is not { } text)
            {
                return message;
            }

            var exceptionLines = text.Split('\n');
            var frames = exceptionLines.Select(l => l.Trim()).Where(l => l.StartsWith("at Scoring.", StringComparison.Ordinal)).Select(Frame).Take(3);
            var first = exceptionLines[0].Length > 240 ? exceptionLines[0][..240] + "…" : exceptionLines[0];
            return $"{message}: {first} (at {string.Join(" ← ", frames)})";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    // "at Scoring.X.Method(args) in /path/File.cs:line 42" → "Scoring.X.Method:42"
    private static string Frame(string line)
    {
        var open = line.IndexOf('(', StringComparison.Ordinal);
        var method = open > 3 ? line[3..open] : line[3..];
        var at = line.LastIndexOf(":line ", StringComparison.Ordinal);
        return at > 0 ? $"{method}:{line[(at + 6)..]}" : method;
    }
}
