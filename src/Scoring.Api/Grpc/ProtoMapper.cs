using Google.Protobuf.WellKnownTypes;
using ScoringPolicy = Scoring.Domain.Policies.ScoringPolicy;
using Scoring.Domain.Scores;
using Scoring.Domain.Violations;
using Scoring.V1;
using DomainSeverity = Scoring.Domain.Severity;
using Severity = Scoring.V1.Severity;
using Violation = Scoring.Domain.Violations.Violation;
using ViolationStatus = Scoring.V1.ViolationStatus;

namespace Scoring.Api.Grpc;

/// <summary>Maps between the public contract and the model. No rules live here.</summary>
internal static class ProtoMapper
{
    public static Features.Violations.RecordViolationCommand ToCommand(this RecordViolationRequest request) =>
        new(request.Source,
            request.EventId,
            request.UserId,
            request.Category,
            (DomainSeverity)request.Severity,
            request.OccurredAt?.ToInstant(),
            request.EvidenceRef,
            request.Note,
            request.DecidedBy,
            request.Automated,
            (Domain.Violations.DecisionGround)request.DecisionGround,
            request.LegalGround);

    /// <summary>
    /// A timestamp outside what .NET can represent becomes the earliest instant, which validation then
    /// rejects as too old, naming occurred_at, instead of failing the call.
    /// </summary>
    public static DateTimeOffset ToInstant(this Timestamp timestamp) =>
        timestamp.Seconds is >= -62135596800 and <= 253402300799 && timestamp.Nanos is >= 0 and < 1_000_000_000
            ? timestamp.ToDateTimeOffset()
            : DateTimeOffset.MinValue;

    public static Scoring.V1.Violation ToProto(this Violation violation, ScoringPolicy policy, DateTimeOffset at) => new()
    {
        ViolationId = violation.Id,
        Source = violation.Source,
        EventId = violation.EventId,
        UserId = violation.UserId,
        Category = violation.Category,
        Severity = (Severity)violation.Severity,
        BasePoints = violation.BasePointsUnder(policy),
        CurrentPoints = violation.PointsAt(policy, at),
        OccurredAt = Timestamp.FromDateTimeOffset(violation.OccurredAt),
        RecordedAt = Timestamp.FromDateTimeOffset(violation.RecordedAt),
        EvidenceRef = violation.EvidenceRef ?? "",
        Note = violation.Note ?? "",
        DecidedBy = violation.DecidedBy ?? "",
        Automated = violation.Automated,
        Status = (ViolationStatus)violation.StatusAt(policy, at),
        AppealableUntil = Timestamp.FromDateTimeOffset(violation.AppealableUntil),
        AppealId = violation.AppealId ?? "",
        AppealState = (AppealState)violation.AppealState,
        PolicyVersion = policy.Version,
        DecisionGround = (V1.DecisionGround)violation.DecisionGround,
        LegalGround = violation.LegalGround ?? "",
    };

    public static UserScore ToProto(this Score score, string userId)
    {
        var proto = new UserScore
        {
            UserId = userId,
            Points = score.Points,
            Standing = (Standing)score.Standing,
            ActiveViolations = score.ActiveViolations,
            ComputedAt = Timestamp.FromDateTimeOffset(score.ComputedAt),
            PolicyVersion = score.PolicyVersion,
            StandingImprovesAt = score.StandingImprovesAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
            Permanent = score.Permanent,
            Contested = score.Contested,
        };
        foreach (var contribution in score.Breakdown)
        {
            proto.Breakdown.Add(new ScoreContribution
            {
                ViolationId = contribution.Violation.ViolationId,
                Category = contribution.Violation.Category,
                Severity = (Severity)contribution.Violation.Severity,
                BasePoints = contribution.BasePoints,
                CurrentPoints = contribution.CurrentPoints,
                OccurredAt = Timestamp.FromDateTimeOffset(contribution.Violation.OccurredAt),
                HalfLife = Duration.FromTimeSpan(contribution.HalfLife),
            });
        }

        return proto;
    }

    public static Appeal ToProto(this Domain.Appeals.Appeal appeal) => new()
    {
        AppealId = appeal.Id,
        ViolationId = appeal.ViolationId,
        UserId = appeal.UserId,
        State = (AppealState)appeal.State,
        Statement = appeal.Statement,
        SubmittedAt = Timestamp.FromDateTimeOffset(appeal.SubmittedAt),
        DueAt = Timestamp.FromDateTimeOffset(appeal.DueAt),
        Assignee = appeal.Assignee ?? "",
        DecidedAt = appeal.DecidedAt is { } decided ? Timestamp.FromDateTimeOffset(decided) : null,
        DecidedBy = appeal.DecidedBy ?? "",
        Decision = (AppealDecision)appeal.Decision,
        Rationale = appeal.Rationale ?? "",
        NewSeverity = (Severity)appeal.NewSeverity,
    };

    public static AuditEntry ToProto(this Domain.Audit.AuditEntry entry) => new()
    {
        EntryId = entry.Id,
        Sequence = entry.Sequence,
        OccurredAt = Timestamp.FromDateTimeOffset(entry.OccurredAt),
        Actor = entry.Actor,
        Action = entry.Action,
        UserId = entry.UserId,
        TargetId = entry.TargetId,
        Reason = entry.Reason,
        BeforeState = entry.BeforeState ?? "",
        AfterState = entry.AfterState ?? "",
        BeforeSeverity = (Severity)entry.BeforeSeverity,
        AfterSeverity = (Severity)entry.AfterSeverity,
        BeforePoints = entry.BeforePoints,
        AfterPoints = entry.AfterPoints,
        Hash = entry.Hash,
        PreviousHash = entry.PreviousHash ?? "",
        ItemCount = entry.ItemCount,
        KeyId = entry.KeyId ?? "",
    };

    public static AuditChainBreak ToProto(this Domain.Audit.AuditChainBreak reason) => reason switch
    {
        Domain.Audit.AuditChainBreak.None => AuditChainBreak.Unspecified,
        Domain.Audit.AuditChainBreak.Mismatch => AuditChainBreak.Mismatch,
        Domain.Audit.AuditChainBreak.UnknownKey => AuditChainBreak.UnknownKey,
        Domain.Audit.AuditChainBreak.Unkeyed => AuditChainBreak.Unkeyed,
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    public static Policy ToProto(this ScoringPolicy policy)
    {
        var proto = new Policy
        {
            Version = policy.Version,
            SeverityPoints = new SeverityPoints
            {
                Low = policy.SeverityPoints.Low,
                Medium = policy.SeverityPoints.Medium,
                High = policy.SeverityPoints.High,
                Critical = policy.SeverityPoints.Critical,
            },
            Thresholds = new Thresholds
            {
                Warned = policy.Thresholds.Warned,
                Restricted = policy.Thresholds.Restricted,
                Suspended = policy.Thresholds.Suspended,
                Banned = policy.Thresholds.Banned,
            },
            MaxAge = Duration.FromTimeSpan(policy.MaxAge),
            AppealWindow = Duration.FromTimeSpan(policy.AppealWindow),
            ReviewSla = Duration.FromTimeSpan(policy.ReviewSla),
        };
        proto.Categories.AddRange(policy.Categories.Select(c => new CategoryPolicy
        {
            Name = c.Name,
            Weight = c.Weight,
            HalfLife = Duration.FromTimeSpan(c.HalfLife),
            ZeroTolerance = c.ZeroTolerance,
            DsaCategory = c.DsaCategory ?? "",
        }));
        foreach (var (source, type) in policy.SourceTypes)
        {
            proto.SourceTypes[source] = type;
        }

        return proto;
    }

    /// <summary>A policy as a client sent it; missing parts stay empty for validation to name.</summary>
    public static ScoringPolicy FromProto(this Policy proto) => new()
    {
        Version = proto.Version,
        SeverityPoints = proto.SeverityPoints is { } points ? new Domain.Policies.SeverityPoints(points.Low, points.Medium, points.High, points.Critical) : null!,
        Categories = [.. proto.Categories.Select(c => new Domain.Policies.CategoryPolicy(
            c.Name, c.Weight, Span(c.HalfLife), c.ZeroTolerance, string.IsNullOrEmpty(c.DsaCategory) ? null : c.DsaCategory))],
        SourceTypes = new Dictionary<string, string>(proto.SourceTypes, StringComparer.Ordinal),
        Thresholds = proto.Thresholds is { } t ? new Domain.Policies.Thresholds(t.Warned, t.Restricted, t.Suspended, t.Banned) : null!,
        MaxAge = Span(proto.MaxAge),
        AppealWindow = Span(proto.AppealWindow),
        ReviewSla = Span(proto.ReviewSla),
    };

    /// <summary>A duration as a TimeSpan; unset is zero, and one beyond TimeSpan's range is negative (both invalid in a policy).</summary>
    private static TimeSpan Span(Duration? duration)
    {
        if (duration is null)
        {
            return TimeSpan.Zero;
        }

        try
        {
            return duration.ToTimeSpan();
        }
        catch (Exception exception) when (exception is InvalidOperationException or OverflowException or ArgumentException)
        {
            return TimeSpan.MinValue;
        }
    }

    public static V1.PolicyVersion ToProto(this Domain.Policies.PolicyVersion version) => new()
    {
        Version = version.Version,
        State = (V1.PolicyVersionState)version.State,
        Description = version.Description,
        Author = version.Author,
        ContentHash = version.ContentHash,
        CreatedAt = Timestamp.FromDateTimeOffset(version.CreatedAt),
        UpdatedAt = Timestamp.FromDateTimeOffset(version.UpdatedAt),
        PublishedAt = version.PublishedAt is { } published ? Timestamp.FromDateTimeOffset(published) : null,
        ActivatedAt = version.ActivatedAt is { } activated ? Timestamp.FromDateTimeOffset(activated) : null,
        RetiredAt = version.RetiredAt is { } retired ? Timestamp.FromDateTimeOffset(retired) : null,
        Policy = Features.Policies.PolicyVersionRules.Content(version).ToProto(),
        Etag = version.ETag,
    };

    public static V1.PolicySimulation ToProto(this Features.Policies.PolicySimulationView view)
    {
        var job = view.Job;
        var proto = new V1.PolicySimulation
        {
            SimulationId = job.Id,
            State = (V1.PolicySimulationState)job.State,
            CandidateVersion = job.CandidateVersion,
            BaselineVersion = job.BaselineVersion ?? "",
            AsOf = job.AsOf is { } asOf ? Timestamp.FromDateTimeOffset(asOf) : null,
            RequestedBy = job.RequestedBy,
            CreatedAt = Timestamp.FromDateTimeOffset(job.CreatedAt),
            FinishedAt = job.FinishedAt is { } finished ? Timestamp.FromDateTimeOffset(finished) : null,
            UsersDone = job.UsersDone,
            UsersTotal = job.UsersTotal,
            Failure = job.Failure ?? "",
            Result = view.Tally?.ToProto(),
        };
        return proto;
    }

    private static V1.PolicySimulationResult ToProto(this Domain.Policies.SimulationTally tally)
    {
        var result = new V1.PolicySimulationResult
        {
            Users = tally.Users,
            UsersPointsChanged = tally.PointsChanged,
            PointsDeltaP50 = tally.Deltas.Percentile(0.50),
            PointsDeltaP90 = tally.Deltas.Percentile(0.90),
            PointsDeltaP99 = tally.Deltas.Percentile(0.99),
            UsersBecomingBanned = tally.BecomeBanned,
            UsersNoLongerBanned = tally.StopBanned,
            BecomingBannedSample = { tally.BecomeBannedSample },
            NoLongerBannedSample = { tally.StopBannedSample },
        };
        foreach (var from in System.Enum.GetValues<Domain.Standing>().Where(s => s != Domain.Standing.Unspecified))
        {
            foreach (var to in System.Enum.GetValues<Domain.Standing>().Where(s => s != Domain.Standing.Unspecified))
            {
                var users = tally.Count(from, to);
                result.UsersChangingStanding += from != to ? users : 0;
                result.Transitions.Add(new V1.StandingTransition
                {
                    FromStanding = (V1.Standing)from,
                    ToStanding = (V1.Standing)to,
                    Users = users,
                    SampleUserIds = { tally.Samples.GetValueOrDefault(Domain.Policies.SimulationTally.Cell(from, to)) ?? [] },
                });
            }
        }

        result.Categories.AddRange(tally.Categories.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new V1.CategorySimulation
        {
            Category = c.Key,
            BaselineViolations = c.Value.BaselineViolations,
            BaselinePoints = c.Value.BaselinePoints,
            CandidateViolations = c.Value.CandidateViolations,
            CandidatePoints = c.Value.CandidatePoints,
        }));
        return result;
    }

    public static V1.StandingChange ToProto(this Features.Standings.FeedItem item) => new()
    {
        Revision = item.Revision.ToString(),
        UserId = item.Change.UserId,
        PreviousStanding = (V1.Standing)item.Change.PreviousStanding,
        Standing = (V1.Standing)item.Change.Standing,
        Points = item.Change.Points,
        Permanent = item.Change.Permanent,
        Cause = (V1.StandingChangeCause)item.Change.Cause,
        ChangedAt = Timestamp.FromDateTimeOffset(item.Change.ChangedAt),
        PolicyVersion = item.Change.PolicyVersion,
    };
}
