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
    private ScoringPolicy _current = initial;

    public ScoringPolicy Current => Volatile.Read(ref _current);

    /// <summary>Scores from now on under <paramref name="policy"/>; true when that changed the version.</summary>
    public bool Use(ScoringPolicy policy) => Interlocked.Exchange(ref _current, policy).Version != policy.Version;
}
