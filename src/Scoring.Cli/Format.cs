using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Scoring.V1;

namespace Scoring.Cli;

/// <summary>How values read in tables: enum names without their prefix, instants in UTC, points rounded.</summary>
internal static class Format
{
    public static string Of(Standing standing) => Name(standing.ToString());
    public static string Of(Severity severity) => Name(severity.ToString());
    public static string Of(ViolationStatus status) => Name(status.ToString());
    public static string Of(AppealState state) => Name(state.ToString());
    public static string Of(AppealDecision decision) => Name(decision.ToString());
    public static string Of(PolicyVersionState state) => Name(state.ToString());
    public static string Of(PolicySimulationState state) => Name(state.ToString());

    public static string Of(Timestamp? at) =>
        at is null ? "—" : at.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Of(Duration? duration) => duration is null ? "—" : duration.ToTimeSpan().ToString("c", CultureInfo.InvariantCulture);

    public static string Points(double points) => points.ToString("0.##", CultureInfo.InvariantCulture);

    public static string Text(string value) => value.Length == 0 ? "—" : value;

    // "InReview" → "in review"; "Unspecified" → "—".
    private static string Name(string name) => name == "Unspecified"
        ? "—"
        : string.Concat(name.Select((c, i) => i > 0 && char.IsUpper(c) ? " " + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    public static Severity ParseSeverity(string value) => value.ToLowerInvariant() switch
    {
        "low" => Severity.Low,
        "medium" => Severity.Medium,
        "high" => Severity.High,
        "critical" => Severity.Critical,
        _ => Severity.Unspecified,
    };

    public static AppealState ParseState(string value) => value.ToLowerInvariant().Replace('-', '_') switch
    {
        "submitted" => AppealState.Submitted,
        "in_review" => AppealState.InReview,
        "upheld" => AppealState.Upheld,
        "overturned" => AppealState.Overturned,
        "reduced" => AppealState.Reduced,
        "withdrawn" => AppealState.Withdrawn,
        _ => AppealState.Unspecified,
    };
}
