using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;

namespace Scoring.Api.Tests.Scoring;

public sealed class MigrationTests
{
    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public void Each_provider_has_a_migration_for_every_model_change(DatabaseProvider provider)
    {
        using ScoringDbContext db = provider == DatabaseProvider.Postgres
            ? new PostgresScoringDbContext((DbContextOptions<PostgresScoringDbContext>)new DbContextOptionsBuilder<PostgresScoringDbContext>()
                .UseScoringDatabase(provider, "Host=localhost").Options)
            : new SqliteScoringDbContext((DbContextOptions<SqliteScoringDbContext>)new DbContextOptionsBuilder<SqliteScoringDbContext>()
                .UseScoringDatabase(provider, "Data Source=:memory:").Options);

        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), $"The model changed without a {provider} migration (see README, Development).");
    }
}
