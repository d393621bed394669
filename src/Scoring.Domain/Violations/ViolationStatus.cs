namespace Scoring.Domain.Violations;

/// <summary>Whether a violation counts. Values match the public contract.</summary>
public enum ViolationStatus
{
    Unspecified = 0,
    Active = 1,
    Overturned = 2,

    /// <summary>Derived from age at read time; never stored.</summary>
    Expired = 3,
}
