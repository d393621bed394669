using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Scoring.Domain;
using Scoring.Domain.Violations;

namespace Scoring.Api.Infrastructure.Persistence.Configurations;

internal sealed class ViolationConfiguration : IEntityTypeConfiguration<Violation>
{
    public void Configure(EntityTypeBuilder<Violation> builder)
    {
        builder.ToTable("violations");
        builder.HasKey(v => v.Id);

        // Column names come from the snake_case naming convention; lengths bound what clients may send.
        builder.Property(v => v.Id).HasMaxLength(36);
        builder.Property(v => v.Source).HasMaxLength(64);
        builder.Property(v => v.EventId).HasMaxLength(128);
        builder.Property(v => v.UserId).HasMaxLength(128);
        builder.Property(v => v.Category).HasMaxLength(64);
        builder.Property(v => v.EvidenceRef).HasMaxLength(2048);
        builder.Property(v => v.LegalGround).HasMaxLength(500);
        builder.Property(v => v.Note).HasMaxLength(2000);
        builder.Property(v => v.DecidedBy).HasMaxLength(128);
        builder.Property(v => v.AppealId).HasMaxLength(36);
        builder.Ignore(v => v.IsContested);

        // The idempotency key: a retried event hits this index instead of counting twice.
        builder.HasIndex(v => new { v.Source, v.EventId }).IsUnique().HasDatabaseName("ux_violations_source_event_id");

        // Serves score loads and ListViolations' newest-first keyset pages.
        builder.HasIndex(v => new { v.UserId, v.OccurredAt, v.Id }).IsDescending(false, true, true).HasDatabaseName("ix_violations_user_occurred");

        // Statements of reasons are exported by recording time, a page at a time.
        builder.HasIndex(v => new { v.RecordedAt, v.Id }).HasDatabaseName("ix_violations_recorded_at");

        // The retention purge takes the oldest violations a batch at a time: without it each batch read the
        // whole per-user index. On PostgreSQL its migration builds it concurrently, without blocking writes.
        builder.HasIndex(v => new { v.OccurredAt, v.Id }).HasDatabaseName("ix_violations_occurred_at");

        // A user's CRITICAL violations, the only ones past max_age that can still count (zero tolerance):
        // the score's read finds them here instead of reading every older violation of the user.
        builder.HasIndex(v => v.UserId, "ix_violations_user_critical").HasFilter($"severity = {(int)Severity.Critical}").HasDatabaseName("ix_violations_user_critical");
    }
}
