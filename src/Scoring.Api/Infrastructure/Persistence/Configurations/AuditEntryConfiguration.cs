using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Scoring.Domain.Audit;

namespace Scoring.Api.Infrastructure.Persistence.Configurations;

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> builder)
    {
        builder.ToTable("audit_entries");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).HasMaxLength(36);
        builder.Property(e => e.UserId).HasMaxLength(128);
        builder.Property(e => e.Actor).HasMaxLength(128);
        builder.Property(e => e.Action).HasMaxLength(64);
        builder.Property(e => e.TargetId).HasMaxLength(64);
        builder.Property(e => e.Reason).HasMaxLength(AuditChange.MaxReasonLength);
        builder.Property(e => e.BeforeState).HasMaxLength(96);
        builder.Property(e => e.AfterState).HasMaxLength(96);
        builder.Property(e => e.Hash).HasMaxLength(64);
        builder.Property(e => e.PreviousHash).HasMaxLength(64);
        builder.Property(e => e.KeyId).HasMaxLength(16);

        // One chain per user, gap-free: the index refuses a second entry at any position.
        builder.HasIndex(e => new { e.UserId, e.Sequence }).IsUnique().HasDatabaseName("ux_audit_entries_user_sequence");
        builder.HasIndex(e => new { e.TargetId, e.Sequence }).HasDatabaseName("ix_audit_entries_target");
    }
}
