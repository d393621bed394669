using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Scoring.Api.Infrastructure.Persistence.Configurations;

internal sealed class UserScoreVersionConfiguration : IEntityTypeConfiguration<UserScoreVersion>
{
    public void Configure(EntityTypeBuilder<UserScoreVersion> builder)
    {
        builder.ToTable("user_score_versions");
        builder.HasKey(u => u.UserId);
        builder.Property(u => u.UserId).HasMaxLength(128);
        builder.Property(u => u.AuditHash).HasMaxLength(64);
        builder.Ignore(u => u.AuditHead);
        builder.Ignore(u => u.RecordedStanding);
        builder.Property(u => u.Standing).HasDefaultValue(Scoring.Domain.Standing.Good).HasSentinel(Scoring.Domain.Standing.Unspecified);
    }
}
