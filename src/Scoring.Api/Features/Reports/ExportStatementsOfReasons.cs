using System.Runtime.CompilerServices;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Scoring.Api.Features.Common;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Domain.Audit;
using Scoring.Domain.Policies;
using Scoring.Domain.Reports;

namespace Scoring.Api.Features.Reports;

/// <summary>
/// The statements of reasons (DSA Art. 17, 24(5)) for the violations recorded in [period_start, period_end),
/// in batches of at most <see cref="BatchSize"/>, the most the transparency database's batch API takes.
/// The run is audited when asked; the batches are read a page at a time as the caller takes them.
/// </summary>
public sealed record ExportStatementsOfReasonsQuery(DateTimeOffset? PeriodStart, DateTimeOffset? PeriodEnd)
    : IQuery<IAsyncEnumerable<IReadOnlyList<StatementOfReasons>>>
{
    public const int BatchSize = 100;
}

public sealed class ExportStatementsOfReasonsQueryValidator : AbstractValidator<ExportStatementsOfReasonsQuery>
{
    public ExportStatementsOfReasonsQueryValidator()
    {
        RuleFor(q => q.PeriodStart).ReportDay();
        RuleFor(q => q.PeriodEnd).ReportPeriodEnd(q => q.PeriodStart);
    }
}

public sealed class ExportStatementsOfReasonsQueryHandler(ScoringDbContext db, ScoringPolicy policy, ReportAudit audit)
    : IQueryHandler<ExportStatementsOfReasonsQuery, IAsyncEnumerable<IReadOnlyList<StatementOfReasons>>>
{
    public async ValueTask<IAsyncEnumerable<IReadOnlyList<StatementOfReasons>>> Handle(
        ExportStatementsOfReasonsQuery query, CancellationToken cancellationToken)
    {
        var period = new ReportPeriod(query.PeriodStart!.Value.ToUniversalTime(), query.PeriodEnd!.Value.ToUniversalTime());
        await audit.RecordAsync(AuditActions.ReportStatements, period, "statements_of_reasons", cancellationToken);
        return BatchesAsync(period, cancellationToken);
    }

    private async IAsyncEnumerable<IReadOnlyList<StatementOfReasons>> BatchesAsync(ReportPeriod period, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (start, end) = (period.Start, period.End);
        (DateTimeOffset At, string Id)? after = null;
        while (true)
        {
            var page = db.Violations.AsNoTracking().Where(v => v.RecordedAt >= start && v.RecordedAt < end);
            if (after is { } last)
            {
                var (at, id) = last;
                page = page.Where(v => v.RecordedAt > at || (v.RecordedAt == at && string.Compare(v.Id, id) > 0));
            }

            var violations = await page.OrderBy(v => v.RecordedAt).ThenBy(v => v.Id).Take(ExportStatementsOfReasonsQuery.BatchSize).ToListAsync(cancellationToken);
            if (violations.Count == 0)
            {
                yield break;
            }

            yield return [.. violations.Select(v => StatementOfReasons.For(v, policy))];
            if (violations.Count < ExportStatementsOfReasonsQuery.BatchSize)
            {
                yield break;
            }

            after = (violations[^1].RecordedAt, violations[^1].Id);
        }
    }
}
