using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;
using Scoring.Api.Tests.Infrastructure;

namespace Scoring.Api.Tests.Scoring;

public sealed class MigrationTests
{
    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public void Each_provider_has_a_migration_for_every_model_change(DatabaseProvider provider)
    {
        using var db = ScoringContexts.Create(provider, provider == DatabaseProvider.Postgres ? "Host=localhost" : "Data Source=:memory:");

        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), $"The model changed without a {provider} migration (see README, Development).");
    }
}
