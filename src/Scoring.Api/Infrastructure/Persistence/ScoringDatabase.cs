using Microsoft.EntityFrameworkCore;
using Scoring.Api.Options;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>How each provider is set up; shared by the service and the design-time factories.</summary>
public static class ScoringDatabase
{
    public const string DefaultSqliteConnection = "Data Source=scoring.db";

    public static DbContextOptionsBuilder UseScoringDatabase(this DbContextOptionsBuilder options, DatabaseProvider provider, string connectionString) =>
        (provider switch
        {
            DatabaseProvider.Postgres => options.UseNpgsql(connectionString),
            DatabaseProvider.Sqlite => options.UseSqlite(connectionString),
            _ => throw new InvalidOperationException($"Database:Provider '{provider}' is not supported; use Sqlite or Postgres."),
        }).UseSnakeCaseNamingConvention();
}
