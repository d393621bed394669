using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Scoring.Api.Infrastructure.Persistence;

// Used only by `dotnet ef migrations add`; the connection strings are never opened.
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresScoringDbContext>
{
    public PostgresScoringDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresScoringDbContext>().UseNpgsql("Host=localhost").Options);
}

internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteScoringDbContext>
{
    public SqliteScoringDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteScoringDbContext>().UseSqlite("Data Source=design.db").Options);
}
