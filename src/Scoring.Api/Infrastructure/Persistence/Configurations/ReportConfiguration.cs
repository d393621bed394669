using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Scoring.Domain.Reports;

namespace Scoring.Api.Infrastructure.Persistence.Configurations;

internal sealed class ReportTallyConfiguration : IEntityTypeConfiguration<ReportTally>
{
    public void Configure(EntityTypeBuilder<ReportTally> builder)
    {
        builder.ToTable("report_tallies");
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Id).ValueGeneratedOnAdd();
        builder.Property(t => t.Category).HasMaxLength(64);
        builder.Property(t => t.Source).HasMaxLength(64);
        // Reports sum a range of days of one kind.
        builder.HasIndex(t => new { t.Kind, t.Day }).HasDatabaseName("ix_report_tallies_kind_day");
    }
}

internal sealed class ReportStandingEntryConfiguration : IEntityTypeConfiguration<ReportStandingEntry>
{
    public void Configure(EntityTypeBuilder<ReportStandingEntry> builder)
    {
        builder.ToTable("report_standing_entries");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).ValueGeneratedOnAdd();
        builder.Property(e => e.UserKey).HasMaxLength(128);
        builder.HasIndex(e => new { e.Day, e.Standing }).HasDatabaseName("ix_report_standing_entries_day");
        // Erasure finds a user's entries to anonymise them.
        builder.HasIndex(e => e.UserKey).HasDatabaseName("ix_report_standing_entries_user");
    }
}

internal sealed class AppealFactConfiguration : IEntityTypeConfiguration<AppealFact>
{
    public void Configure(EntityTypeBuilder<AppealFact> builder)
    {
        builder.ToTable("report_appeals");
        builder.HasKey(a => a.AppealId);
        builder.Property(a => a.AppealId).HasMaxLength(36);
        builder.Property(a => a.Category).HasMaxLength(64);
        builder.Ignore(a => a.IsDecided);
        builder.Ignore(a => a.IsReversed);
        builder.Ignore(a => a.WasPastSla);
        builder.Ignore(a => a.TimeToDecision);
        // A report reads the appeals submitted before its end that were still open at its start.
        builder.HasIndex(a => a.SubmittedAt).HasDatabaseName("ix_report_appeals_submitted_at");
        builder.HasIndex(a => a.ClosedAt).HasDatabaseName("ix_report_appeals_closed_at");
    }
}
