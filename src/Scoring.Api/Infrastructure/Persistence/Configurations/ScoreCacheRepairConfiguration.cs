using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Scoring.Api.Infrastructure.Persistence.Configurations;

internal sealed class ScoreCacheRepairConfiguration : IEntityTypeConfiguration<ScoreCacheRepair>
{
    public void Configure(EntityTypeBuilder<ScoreCacheRepair> builder)
    {
        builder.ToTable("score_cache_repairs");
        builder.HasKey(r => r.UserId);
        builder.Property(r => r.UserId).HasMaxLength(128);
    }
}
