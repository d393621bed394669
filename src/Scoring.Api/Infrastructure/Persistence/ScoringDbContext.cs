using Microsoft.EntityFrameworkCore;
using Scoring.Domain.Appeals;
using Scoring.Domain.Audit;
using Scoring.Domain.Violations;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// The service's database. Each provider has a subclass that owns its migrations set
/// (<see cref="SqliteScoringDbContext"/>, <see cref="PostgresScoringDbContext"/>); handlers use this base type.
/// </summary>
public abstract class ScoringDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Violation> Violations => Set<Violation>();

    public DbSet<Appeal> Appeals => Set<Appeal>();

    /// <summary>Append-only: nothing in the code updates or deletes an entry (and PostgreSQL refuses to).</summary>
    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();

    /// <summary>One row per user that has ever been written: the lock, the version and the audit head.</summary>
    public DbSet<UserScoreVersion> UserScoreVersions => Set<UserScoreVersion>();

    /// <summary>Users whose cache entry may be stale (see <see cref="ScoreCacheRepair"/>).</summary>
    public DbSet<ScoreCacheRepair> ScoreCacheRepairs => Set<ScoreCacheRepair>();

    /// <summary>
    /// Whether this is the PostgreSQL context. The write path asks on every statement it builds, and
    /// EF Core's <c>Database.IsNpgsql()</c> reads the provider assembly's name by reflection each time.
    /// </summary>
    public bool IsPostgres => this is PostgresScoringDbContext;

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(ScoringDbContext).Assembly);
}

public sealed class PostgresScoringDbContext(DbContextOptions<PostgresScoringDbContext> options) : ScoringDbContext(options);

public sealed class SqliteScoringDbContext(DbContextOptions<SqliteScoringDbContext> options) : ScoringDbContext(options)
{
    // SQLite has no timestamp type; UTC ticks keep full precision and sort and compare as numbers.
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) =>
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
}
