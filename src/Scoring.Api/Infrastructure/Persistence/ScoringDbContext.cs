using Microsoft.EntityFrameworkCore;
using Scoring.Domain.Appeals;
using Scoring.Domain.Audit;
using Scoring.Domain.Violations;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// The service's database. Each provider has a subclass that owns its migrations set
/// (<see cref="SqliteScoringDbContext"/>, <see cref="PostgresScoringDbContext"/>); handlers use this base type.
/// </summary>
public abstract class ScoringDbContext(DbContextOptions options) : DbContext(options), Microsoft.AspNetCore.DataProtection.EntityFrameworkCore.IDataProtectionKeyContext
{
    /// <summary>
    /// The keys that protect the console's cookies and antiforgery tokens, shared by every replica so a
    /// session started on one is valid on all (and survives restarts).
    /// </summary>
    public DbSet<Microsoft.AspNetCore.DataProtection.EntityFrameworkCore.DataProtectionKey> DataProtectionKeys =>
        Set<Microsoft.AspNetCore.DataProtection.EntityFrameworkCore.DataProtectionKey>();

    public DbSet<Violation> Violations => Set<Violation>();

    public DbSet<Appeal> Appeals => Set<Appeal>();

    /// <summary>Append-only: nothing in the code updates or deletes an entry (and PostgreSQL refuses to).</summary>
    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();

    /// <summary>One row per user that has ever been written: the lock, the version and the audit head.</summary>
    public DbSet<UserScoreVersion> UserScoreVersions => Set<UserScoreVersion>();

    /// <summary>Users whose cache entry may be stale (see <see cref="ScoreCacheRepair"/>).</summary>
    public DbSet<ScoreCacheRepair> ScoreCacheRepairs => Set<ScoreCacheRepair>();

    /// <summary>The feed of standing changes (see <see cref="StandingChangeEntry"/>).</summary>
    public DbSet<StandingChangeEntry> StandingChanges => Set<StandingChangeEntry>();

    /// <summary>Users whose standing drops by itself, by when.</summary>
    public DbSet<StandingDrop> StandingDrops => Set<StandingDrop>();

    public DbSet<StandingFeedCompaction> StandingFeedCompaction => Set<StandingFeedCompaction>();

    /// <summary>Every version of the scoring policy: drafts, published, the active one, retired ones.</summary>
    public DbSet<Domain.Policies.PolicyVersion> PolicyVersions => Set<Domain.Policies.PolicyVersion>();

    /// <summary>Policy simulations and re-scoring passes, with their position and lease.</summary>
    public DbSet<Domain.Policies.PolicyJob> PolicyJobs => Set<Domain.Policies.PolicyJob>();

    /// <summary>Counts for transparency reports, appended as writes happen (see <see cref="ReportTally"/>).</summary>
    public DbSet<ReportTally> ReportTallies => Set<ReportTally>();

    /// <summary>Entries into restrictive standings, for distinct-user counts in reports.</summary>
    public DbSet<ReportStandingEntry> ReportStandingEntries => Set<ReportStandingEntry>();

    /// <summary>What reports keep of each appeal, beyond retention and erasure.</summary>
    public DbSet<Domain.Reports.AppealFact> AppealFacts => Set<Domain.Reports.AppealFact>();

    /// <summary>
    /// Whether this is the PostgreSQL context. The write path asks on every statement it builds, and
    /// EF Core's <c>Database.IsNpgsql()</c> reads the provider assembly's name by reflection each time.
    /// </summary>
    public bool IsPostgres => this is PostgresScoringDbContext;

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(ScoringDbContext).Assembly);
}

public sealed class PostgresScoringDbContext(DbContextOptions<PostgresScoringDbContext> options) : ScoringDbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        // The writing transaction's id orders the feed by commit safety (see StandingChangeEntry).
        modelBuilder.Entity<StandingChangeEntry>().Property(c => c.TransactionId)
            .HasDefaultValueSql("(pg_current_xact_id()::text)::bigint").ValueGeneratedOnAdd();
    }
}

public sealed class SqliteScoringDbContext(DbContextOptions<SqliteScoringDbContext> options) : ScoringDbContext(options)
{
    // SQLite has no timestamp type; UTC ticks keep full precision and sort and compare as numbers.
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) =>
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
}
