namespace Scoring.Domain;

/// <summary>How the model stores instants.</summary>
public static class Instants
{
    /// <summary>
    /// Instants are kept to the microsecond, PostgreSQL's precision, so what is returned before and after
    /// a round trip through any database compares equal.
    /// </summary>
    public static DateTimeOffset ToMicroseconds(DateTimeOffset at) =>
        new(at.UtcTicks - (at.UtcTicks % 10), TimeSpan.Zero);
}
