namespace Scoring.Domain;

/// <summary>What a score means for the user, ordered from best to worst. Values match the public contract.</summary>
public enum Standing
{
    Unspecified = 0,
    Good = 1,
    Warned = 2,
    Restricted = 3,
    Suspended = 4,
    Banned = 5,
}
