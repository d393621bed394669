using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Scoring.Api.Infrastructure.Persistence.Configurations;

internal sealed class StandingChangeEntryConfiguration : IEntityTypeConfiguration<StandingChangeEntry>
{
    public void Configure(EntityTypeBuilder<StandingChangeEntry> builder)
    {
        builder.ToTable("standing_changes");
        builder.HasKey(c => c.Sequence);
        builder.Property(c => c.Sequence).ValueGeneratedOnAdd();
        builder.Property(c => c.UserId).HasMaxLength(128);
        builder.Property(c => c.PolicyVersion).HasMaxLength(64);
        // The feed reads in (transaction, sequence) order; filters and erasure find a user's entries.
        builder.HasIndex(c => new { c.TransactionId, c.Sequence }).HasDatabaseName("ix_standing_changes_revision");
        builder.HasIndex(c => c.UserId).HasDatabaseName("ix_standing_changes_user");
        builder.HasIndex(c => c.RecordedAt).HasDatabaseName("ix_standing_changes_recorded_at");
    }
}

internal sealed class StandingDropConfiguration : IEntityTypeConfiguration<StandingDrop>
{
    public void Configure(EntityTypeBuilder<StandingDrop> builder)
    {
        builder.ToTable("standing_drops");
        builder.HasKey(d => d.UserId);
        builder.Property(d => d.UserId).HasMaxLength(128);
        builder.HasIndex(d => d.DueAt).HasDatabaseName("ix_standing_drops_due_at");
    }
}

internal sealed class StandingFeedCompactionConfiguration : IEntityTypeConfiguration<StandingFeedCompaction>
{
    public void Configure(EntityTypeBuilder<StandingFeedCompaction> builder)
    {
        builder.ToTable("standing_feed_compaction");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Id).ValueGeneratedNever();
        builder.HasData(new StandingFeedCompaction { Id = 1 });
    }
}
