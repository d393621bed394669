namespace Scoring.Api.Options;

/// <summary>Which database holds the violations. The connection string is ConnectionStrings:Scoring.</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>Apply pending migrations when the service starts (turn off when a deployment step runs them).</summary>
    public bool MigrateOnStartup { get; set; } = true;
}

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}
