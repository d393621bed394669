using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Scoring.Domain.Violations;

namespace Scoring.Api.Infrastructure.Persistence.Configurations;

internal sealed class ViolationConfiguration : IEntityTypeConfiguration<Violation>
{
    public void Configure(EntityTypeBuilder<Violation> builder)
    {
        builder.ToTable("violations");
        builder.HasKey(v => v.Id);

        builder.Property(v => v.Id).HasColumnName("id").HasMaxLength(36);
        builder.Property(v => v.Source).HasColumnName("source").HasMaxLength(64);
        builder.Property(v => v.EventId).HasColumnName("event_id").HasMaxLength(128);
        builder.Property(v => v.UserId).HasColumnName("user_id").HasMaxLength(128);
        builder.Property(v => v.Category).HasColumnName("category").HasMaxLength(64);
        builder.Property(v => v.Severity).HasColumnName("severity");
        builder.Property(v => v.BasePoints).HasColumnName("base_points");
        builder.Property(v => v.OccurredAt).HasColumnName("occurred_at");
        builder.Property(v => v.RecordedAt).HasColumnName("recorded_at");
        builder.Property(v => v.EvidenceRef).HasColumnName("evidence_ref").HasMaxLength(2048);
        builder.Property(v => v.Note).HasColumnName("note").HasMaxLength(2000);
        builder.Property(v => v.DecidedBy).HasColumnName("decided_by").HasMaxLength(128);
        builder.Property(v => v.Automated).HasColumnName("automated");
        builder.Property(v => v.Status).HasColumnName("status");
        builder.Property(v => v.AppealableUntil).HasColumnName("appealable_until");

        // The idempotency key: a retried event hits this index instead of counting twice.
        builder.HasIndex(v => new { v.Source, v.EventId }).IsUnique().HasDatabaseName("ux_violations_source_event_id");

        // Serves score loads and ListViolations' newest-first keyset pages.
        builder.HasIndex(v => new { v.UserId, v.OccurredAt, v.Id }).IsDescending(false, true, true).HasDatabaseName("ix_violations_user_occurred");
    }
}
