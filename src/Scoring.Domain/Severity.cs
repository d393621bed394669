namespace Scoring.Domain;

/// <summary>How serious a violation is. Values match the public contract.</summary>
public enum Severity
{
    Unspecified = 0,
    Low = 1,
    Medium = 2,
    High = 3,
    Critical = 4,
}
