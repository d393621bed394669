namespace Scoring.Api.Options;

/// <summary>Scoring settings.</summary>
public sealed class ScoringOptions
{
    public const string SectionName = "Scoring";

    /// <summary>Optional path to a policy JSON file that replaces the default policy.</summary>
    public string? PolicyFile { get; set; }
}
