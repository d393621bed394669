using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Scoring.Domain.Policies;

namespace Scoring.Api.Infrastructure.Persistence.Configurations;

internal sealed class PolicyVersionConfiguration : IEntityTypeConfiguration<PolicyVersion>
{
    public void Configure(EntityTypeBuilder<PolicyVersion> builder)
    {
        builder.ToTable("policy_versions");
        builder.HasKey(v => v.Version);
        builder.Property(v => v.Version).HasMaxLength(64);
        builder.Property(v => v.Description).HasMaxLength(2000);
        builder.Property(v => v.Author).HasMaxLength(128);
        builder.Property(v => v.ContentHash).HasMaxLength(64);

        // Changes check that nobody changed the version since it was read (an application-counted token: SQLite has no row versions).
        builder.Property(v => v.Revision).IsConcurrencyToken();
        builder.Ignore(v => v.ETag);

        // At most one active version, whatever two replicas try at once.
        builder.HasIndex(v => v.State).IsUnique().HasFilter($"state = {(int)PolicyVersionState.Active}").HasDatabaseName("ux_policy_versions_active");

        // The listing: newest first.
        builder.HasIndex(v => new { v.CreatedAt, v.Version }).HasDatabaseName("ix_policy_versions_created");
    }
}
