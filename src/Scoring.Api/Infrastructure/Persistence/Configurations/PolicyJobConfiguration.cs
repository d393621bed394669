using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Scoring.Domain.Policies;

namespace Scoring.Api.Infrastructure.Persistence.Configurations;

internal sealed class PolicyJobConfiguration : IEntityTypeConfiguration<PolicyJob>
{
    public void Configure(EntityTypeBuilder<PolicyJob> builder)
    {
        builder.ToTable("policy_jobs");
        builder.HasKey(j => j.Id);
        builder.Property(j => j.Id).HasMaxLength(36);
        builder.Property(j => j.CandidateVersion).HasMaxLength(64);
        builder.Property(j => j.BaselineVersion).HasMaxLength(64);
        builder.Property(j => j.RequestedBy).HasMaxLength(128);
        builder.Property(j => j.Cursor).HasMaxLength(128);
        builder.Property(j => j.LeaseOwner).HasMaxLength(64);
        builder.Property(j => j.Failure).HasMaxLength(500);
        builder.Ignore(j => j.IsFinished);

        // Two replicas saving one job conflict (an application-counted token: SQLite has no row versions).
        builder.Property(j => j.Revision).IsConcurrencyToken();

        // The runners' question: which unfinished job is next.
        builder.HasIndex(j => new { j.State, j.CreatedAt }).HasDatabaseName("ix_policy_jobs_state_created");
    }
}
