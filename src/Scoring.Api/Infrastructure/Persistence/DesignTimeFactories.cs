using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Scoring.Api.Options;

namespace Scoring.Api.Infrastructure.Persistence;

// Used only by `dotnet ef migrations add`; the connection strings are never opened.
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresScoringDbContext>
{
    public PostgresScoringDbContext CreateDbContext(string[] args) =>
        new((DbContextOptions<PostgresScoringDbContext>)new DbContextOptionsBuilder<PostgresScoringDbContext>()
            .UseScoringDatabase(DatabaseProvider.Postgres, "Host=localhost").Options);
}

internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteScoringDbContext>
{
    public SqliteScoringDbContext CreateDbContext(string[] args) =>
        new((DbContextOptions<SqliteScoringDbContext>)new DbContextOptionsBuilder<SqliteScoringDbContext>()
            .UseScoringDatabase(DatabaseProvider.Sqlite, ScoringDatabase.DefaultSqliteConnection).Options);
}
