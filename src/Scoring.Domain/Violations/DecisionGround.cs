namespace Scoring.Domain.Violations;

/// <summary>What a restriction rests on, as the DSA transparency database asks (Art. 17(3)(d)-(e)). Values match the public contract.</summary>
public enum DecisionGround
{
    /// <summary>Not given by the reporter.</summary>
    Unspecified = 0,

    /// <summary>The content is illegal (legal_ground names the law).</summary>
    IllegalContent = 1,

    /// <summary>The content breaks the platform's terms and conditions (legal_ground names the clause).</summary>
    IncompatibleContent = 2,
}
