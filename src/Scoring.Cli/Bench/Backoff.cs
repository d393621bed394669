namespace Scoring.Cli.Bench;

/// <summary>
/// Exponential back-off with jitter for one worker: the ceiling starts at 10 ms and doubles to 1 s, each
/// wait is drawn between half the ceiling and the whole, and a success starts over. Spread out so that
/// workers refused together do not come back together.
/// </summary>
public sealed class Backoff(Random random)
{
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(10);
    public static readonly TimeSpan Longest = TimeSpan.FromSeconds(1);

    private TimeSpan _ceiling = First;

    /// <summary>The next wait; each call doubles the ceiling for the one after, up to <see cref="Longest"/>.</summary>
    public TimeSpan Next()
    {
        var ceiling = _ceiling;
        _ceiling = ceiling * 2 < Longest ? ceiling * 2 : Longest;
        return ceiling * (0.5 + (random.NextDouble() / 2));
    }

    public void Reset() => _ceiling = First;
}
