using Google.Protobuf.WellKnownTypes;
using Scoring.Api.Features.Reports;
using Scoring.Domain.Reports;
using Scoring.V1;

namespace Scoring.Api.Grpc;

/// <summary>Transparency reports and statements of reasons, domain → proto.</summary>
public static class ReportMapper
{
    public static V1.TransparencyReport ToProto(this Features.Reports.TransparencyReport report)
    {
        var proto = new V1.TransparencyReport
        {
            PeriodStart = Timestamp.FromDateTimeOffset(report.Period.Start),
            PeriodEnd = Timestamp.FromDateTimeOffset(report.Period.End),
            GroupBy = (V1.ReportGrouping)report.GroupBy,
            MinCellSize = report.MinCellSize,
            GeneratedAt = Timestamp.FromDateTimeOffset(report.GeneratedAt),
            PolicyVersion = report.PolicyVersion,
        };
        proto.Periods.AddRange(report.Periods.Select(ToProto));
        return proto;
    }

    public static V1.TransparencyFigures ToProto(this Domain.Reports.TransparencyFigures figures)
    {
        var violations = new V1.ViolationFigures
        {
            Total = figures.Violations.Total.ToProto(),
            Automated = figures.Violations.Automated.ToProto(),
            Human = figures.Violations.Human.ToProto(),
        };
        violations.ByCategorySeverity.AddRange(figures.Violations.ByCategorySeverity.Select(c => new V1.CategorySeverityCount
        {
            Category = c.Category,
            Severity = (V1.Severity)c.Severity,
            Count = c.Count.ToProto(),
        }));
        violations.BySource.AddRange(figures.Violations.BySource.Select(s => new V1.SourceCount { Source = s.Source, Count = s.Count.ToProto() }));

        var restrictions = new V1.RestrictionFigures { UsersPermanentlyBanned = figures.Restrictions.UsersPermanentlyBanned.ToProto() };
        restrictions.UsersEntered.AddRange(figures.Restrictions.UsersEntered.Select(s => new V1.StandingCount
        {
            Standing = (V1.Standing)s.Standing,
            Users = s.Users.ToProto(),
        }));

        var a = figures.Appeals;
        var appeals = new V1.AppealFigures
        {
            Submitted = a.Submitted.ToProto(),
            Withdrawn = a.Withdrawn.ToProto(),
            Decided = a.Decided.ToProto(),
            Upheld = a.Upheld.ToProto(),
            Overturned = a.Overturned.ToProto(),
            Reduced = a.Reduced.ToProto(),
            OpenAtEnd = a.OpenAtEnd.ToProto(),
            DecidedWithinSla = a.DecidedWithinSla.ToProto(),
            DecidedPastSla = a.DecidedPastSla.ToProto(),
            MedianTimeToDecision = a.MedianTimeToDecision is { } median ? Duration.FromTimeSpan(median) : null,
            P90TimeToDecision = a.P90TimeToDecision is { } p90 ? Duration.FromTimeSpan(p90) : null,
            Reversal = a.Reversal.ToProto(),
            ReversalAutomated = a.ReversalAutomated.ToProto(),
            ReversalHuman = a.ReversalHuman.ToProto(),
        };
        appeals.ReversalByCategory.AddRange(a.ReversalByCategory.Select(c => new V1.CategoryReversal { Category = c.Category, Reversal = c.Reversal.ToProto() }));

        return new V1.TransparencyFigures
        {
            PeriodStart = Timestamp.FromDateTimeOffset(figures.Period.Start),
            PeriodEnd = Timestamp.FromDateTimeOffset(figures.Period.End),
            Violations = violations,
            Restrictions = restrictions,
            Appeals = appeals,
            Retention = new V1.RetentionFigures
            {
                ViolationsPurged = figures.Retention.ViolationsPurged.ToProto(),
                UsersErased = figures.Retention.UsersErased.ToProto(),
            },
        };
    }

    public static V1.ReportedCount ToProto(this Domain.Reports.ReportedCount count) =>
        count.Value is { } value ? new V1.ReportedCount { Value = value } : new V1.ReportedCount { Suppressed = true };

    public static V1.Reversal ToProto(this Domain.Reports.Reversal reversal)
    {
        var proto = new V1.Reversal { Decided = reversal.Decided.ToProto(), Reversed = reversal.Reversed.ToProto() };
        if (reversal.Rate is { } rate)
        {
            proto.Rate = rate;
        }

        return proto;
    }

    public static V1.ExportStatementsOfReasonsResponse ToProto(this IReadOnlyList<Domain.Reports.StatementOfReasons> batch)
    {
        var proto = new V1.ExportStatementsOfReasonsResponse();
        proto.Statements.AddRange(batch.Select(s => new V1.StatementOfReasons
        {
            Puid = s.Puid,
            DecisionGround = s.DecisionGround,
            IllegalContentLegalGround = s.IllegalContentLegalGround ?? "",
            IncompatibleContentGround = s.IncompatibleContentGround ?? "",
            Category = s.Category ?? "",
            DecisionAccount = s.DecisionAccount ?? "",
            DecisionFacts = s.DecisionFacts ?? "",
            AutomatedDetection = s.AutomatedDetection,
            AutomatedDecision = s.AutomatedDecision,
            ContentDate = s.ContentDate,
            ApplicationDate = s.ApplicationDate,
            SourceType = s.SourceType ?? "",
        }));
        return proto;
    }

    public static GetTransparencyReportQuery ToQuery(this GetTransparencyReportRequest request) =>
        new(request.PeriodStart?.ToInstant(), request.PeriodEnd?.ToInstant(), (Domain.Reports.ReportGrouping)request.GroupBy);

    public static ExportStatementsOfReasonsQuery ToQuery(this ExportStatementsOfReasonsRequest request) =>
        new(request.PeriodStart?.ToInstant(), request.PeriodEnd?.ToInstant());
}
