using Scoring.Domain.Policies;

namespace Scoring.Api.Infrastructure.Policies;

/// <summary>
/// The policy scores are computed under right now: the active stored version, replaced without a restart
/// when another is activated (here at once, on other replicas by the refresher in Features/Policies).
/// A request takes it once (<see cref="ScoringPolicy"/> is a scoped service), so one call computes under
/// one version even while another is being activated.
/// </summary>
public sealed class ActivePolicy(ScoringPolicy initial)
{
    private Entry _current = new(initial, PolicyCanonicalForm.Hash(initial));

    public ScoringPolicy Current => Volatile.Read(ref _current).Policy;

    /// <summary>The SHA-256 of <see cref="Current"/>'s rules: a stored version with the same name and other rules is another policy.</summary>
    public string CurrentHash => Volatile.Read(ref _current).Hash;

    /// <summary>Scores from now on under <paramref name="policy"/>; true when that changed the version or its rules.</summary>
    public bool Use(ScoringPolicy policy)
    {
        var next = new Entry(policy, PolicyCanonicalForm.Hash(policy));
        var previous = Interlocked.Exchange(ref _current, next);
        return previous.Policy.Version != policy.Version || previous.Hash != next.Hash;
    }

    private sealed record Entry(ScoringPolicy Policy, string Hash);
}
