using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>A database context of either provider on its own, with no service around it (no background work).</summary>
public static class ScoringContexts
{
    public static ScoringDbContext Create(DatabaseProvider provider, string connectionString) => provider == DatabaseProvider.Postgres
        ? new PostgresScoringDbContext((DbContextOptions<PostgresScoringDbContext>)new DbContextOptionsBuilder<PostgresScoringDbContext>()
            .UseScoringDatabase(provider, connectionString).Options)
        : new SqliteScoringDbContext((DbContextOptions<SqliteScoringDbContext>)new DbContextOptionsBuilder<SqliteScoringDbContext>()
            .UseScoringDatabase(provider, connectionString).Options);
}
