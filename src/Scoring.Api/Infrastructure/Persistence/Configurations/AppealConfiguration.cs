using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Scoring.Domain.Appeals;

namespace Scoring.Api.Infrastructure.Persistence.Configurations;

internal sealed class AppealConfiguration : IEntityTypeConfiguration<Appeal>
{
    public void Configure(EntityTypeBuilder<Appeal> builder)
    {
        builder.ToTable("appeals");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Id).HasMaxLength(36);
        builder.Property(a => a.ViolationId).HasMaxLength(36);
        builder.Property(a => a.UserId).HasMaxLength(128);
        builder.Property(a => a.Statement).HasMaxLength(5000);
        builder.Property(a => a.Assignee).HasMaxLength(128);
        builder.Property(a => a.DecidedBy).HasMaxLength(128);
        builder.Property(a => a.Rationale).HasMaxLength(5000);
        builder.Property(a => a.RequestId).HasMaxLength(128);

        // At most one appeal per violation that is open or decided; withdrawn ones step aside.
        builder.HasIndex(a => a.ViolationId).IsUnique().HasFilter("state <> 6").HasDatabaseName("ux_appeals_violation_current");

        // The idempotency key, per user.
        builder.HasIndex(a => new { a.UserId, a.RequestId }).IsUnique().HasFilter("request_id IS NOT NULL").HasDatabaseName("ux_appeals_user_request");

        // The review queue: by state, oldest first.
        builder.HasIndex(a => new { a.State, a.SubmittedAt, a.Id }).HasDatabaseName("ix_appeals_queue");
    }
}
