using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;
using Scoring.Domain;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Reports;

namespace Scoring.Api.Features.Reports;

/// <summary>
/// The transparency report (DSA Art. 15 and 24) over [period_start, period_end), whole UTC days, for the
/// whole period or per calendar month: violations recorded, restrictions applied, the appeal system,
/// retention and erasure; every count below Reports:MinCellSize suppressed.
/// </summary>
public sealed record GetTransparencyReportQuery(DateTimeOffset? PeriodStart, DateTimeOffset? PeriodEnd, ReportGrouping GroupBy)
    : IQuery<TransparencyReport>;

public sealed record TransparencyReport(
    ReportPeriod Period, ReportGrouping GroupBy, int MinCellSize, DateTimeOffset GeneratedAt, string PolicyVersion, IReadOnlyList<TransparencyFigures> Periods);

public sealed class GetTransparencyReportQueryValidator : AbstractValidator<GetTransparencyReportQuery>
{
    public GetTransparencyReportQueryValidator()
    {
        RuleFor(q => q.PeriodStart).ReportDay();
        RuleFor(q => q.PeriodEnd).ReportPeriodEnd(q => q.PeriodStart);
        RuleFor(q => q.GroupBy).Must(g => g is ReportGrouping.Unspecified or ReportGrouping.Period or ReportGrouping.Month)
            .WithMessage("{PropertyName} must be REPORT_GROUPING_PERIOD or REPORT_GROUPING_MONTH");
    }
}

public sealed class GetTransparencyReportQueryHandler(
    ScoringDbContext db, ScoringPolicy policy, IOptions<ReportsOptions> options, ReportAudit audit, TimeProvider timeProvider)
    : IQueryHandler<GetTransparencyReportQuery, TransparencyReport>
{
    public async ValueTask<TransparencyReport> Handle(GetTransparencyReportQuery query, CancellationToken cancellationToken)
    {
        var period = new ReportPeriod(query.PeriodStart!.Value.ToUniversalTime(), query.PeriodEnd!.Value.ToUniversalTime());
        var grouping = query.GroupBy == ReportGrouping.Unspecified ? ReportGrouping.Period : query.GroupBy;
        var minimum = options.Value.MinCellSize;
        var generatedAt = timeProvider.GetUtcNow();
        await audit.RecordAsync(AuditActions.ReportTransparency, period, $"group_by={grouping.ToString().ToLowerInvariant()}", cancellationToken);

        // The day rollups of the whole period, summed per day and attributes by the database.
        var (start, end) = (period.Start, period.End);
        var tallies = await db.ReportTallies.AsNoTracking()
            .Where(t => t.Day >= start && t.Day < end)
            .GroupBy(t => new { t.Day, t.Kind, t.Category, t.Severity, t.Automated, t.Source })
            .Select(g => new { g.Key.Day, g.Key.Kind, g.Key.Category, g.Key.Severity, g.Key.Automated, g.Key.Source, Count = g.Sum(t => t.Count) })
            .ToListAsync(cancellationToken);
        var appeals = await db.AppealFacts.AsNoTracking().Where(AppealFact.AliveDuring(period)).ToListAsync(cancellationToken);

        var categories = policy.Categories.Select(c => c.Name)
            .Union(tallies.Where(t => t.Kind == ReportTallyKind.ViolationRecorded).Select(t => t.Category)).Order(StringComparer.Ordinal).ToArray();
        var sources = policy.SourceTypes.Keys
            .Union(tallies.Where(t => t.Kind == ReportTallyKind.ViolationRecorded).Select(t => t.Source)).Order(StringComparer.Ordinal).ToArray();

        var parts = new List<TransparencyFacts>();
        foreach (var part in period.Split(grouping))
        {
            var inPart = tallies.Where(t => part.Contains(t.Day)).ToArray();
            var (entered, banned) = await UsersEnteredAsync(part, cancellationToken);
            var alive = AppealFact.AliveDuring(part).Compile();
            var facts = new TransparencyFacts(
                part,
                categories,
                sources,
                [.. inPart.Where(t => t.Kind == ReportTallyKind.ViolationRecorded).Select(t => new ViolationTally(t.Category, t.Severity, t.Automated, t.Source, t.Count))],
                entered,
                banned,
                [.. appeals.Where(alive)],
                inPart.Where(t => t.Kind == ReportTallyKind.ViolationPurged).Sum(t => t.Count),
                inPart.Where(t => t.Kind == ReportTallyKind.UserErased).Sum(t => t.Count));
            parts.Add(facts);
        }

        return new TransparencyReport(period, grouping, minimum, generatedAt, policy.Version, TransparencyFigures.PublishAll(parts, minimum));
    }

    /// <summary>Distinct users who entered each restrictive standing in the part, and who entered a permanent ban.</summary>
    private async Task<(Dictionary<Standing, long> Entered, long PermanentlyBanned)> UsersEnteredAsync(ReportPeriod part, CancellationToken cancellationToken)
    {
        var (start, end) = (part.Start, part.End);
        var entries = db.ReportStandingEntries.AsNoTracking().Where(e => e.Day >= start && e.Day < end);
        var entered = await entries
            .GroupBy(e => e.Standing)
            .Select(g => new { Standing = g.Key, Users = g.Select(e => e.UserKey).Distinct().Count() })
            .ToDictionaryAsync(g => g.Standing, g => (long)g.Users, cancellationToken);
        var banned = await entries.Where(e => e.Permanent).Select(e => e.UserKey).Distinct().CountAsync(cancellationToken);
        return (entered, banned);
    }
}
