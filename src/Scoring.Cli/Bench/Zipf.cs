namespace Scoring.Cli.Bench;

/// <summary>
/// Picks ranks 0..n-1 with probability proportional to 1/(rank+1)^s: a few users are hot, most are
/// rarely read, as on real platforms. With s = 0 every user is as likely as any other.
/// </summary>
public sealed class Zipf
{
    private readonly double[] _cumulative;

    public Zipf(int n, double s = 1.0)
    {
        _cumulative = new double[n];
        var total = 0.0;
        for (var rank = 0; rank < n; rank++)
        {
            total += 1.0 / Math.Pow(rank + 1, s);
            _cumulative[rank] = total;
        }

        for (var rank = 0; rank < n; rank++)
        {
            _cumulative[rank] /= total;
        }
    }

    public int Next(Random random)
    {
        var index = Array.BinarySearch(_cumulative, random.NextDouble());
        return Math.Min(index < 0 ? ~index : index, _cumulative.Length - 1);
    }
}
