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
            DatabaseProvider.Postgres => options.UseNpgsql(WithAutoPrepare(connectionString)),
            DatabaseProvider.Sqlite => options.UseSqlite(connectionString),
            _ => throw new InvalidOperationException($"Database:Provider '{provider}' is not supported; use Sqlite or Postgres."),
        }).UseSnakeCaseNamingConvention();

    /// <summary>
    /// Npgsql prepares the statements a connection runs most, unless the connection string says
    /// otherwise: every write runs the same handful, and PostgreSQL then skips parsing them, and after a
    /// few calls planning them too (its default <c>plan_cache_mode=auto</c>). The write path's lookups are
    /// written so that no plan turns them into a join over the whole table (<see cref="ScoreStateQueries"/>);
    /// a plan made while a table was a few pages may still scan it until the next automatic ANALYZE replans
    /// it. Forcing a fresh plan per call cost a quarter of PostgreSQL's CPU per write
    /// (tests/perf/PERFORMANCE.md). A
    /// pooled connection is not reset when returned (three statements each time): the service sets no
    /// session state, takes no session locks and opens no cursors.
    /// </summary>
    private static string WithAutoPrepare(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        // Any spelling of these settings (Max Auto Prepare=0, MaxAutoPrepare, No Reset On Close) is the
        // operator's choice, as behind PgBouncer in transaction mode: then none is changed.
        var keys = builder.Keys.Cast<string>().Select(k => k.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant()).ToHashSet();
        if (keys.Overlaps(["MAXAUTOPREPARE", "AUTOPREPAREMINUSAGES", "NORESETONCLOSE"]))
        {
            return connectionString;
        }

        builder.MaxAutoPrepare = 32;
        builder.AutoPrepareMinUsages = 2;
        builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }
}
