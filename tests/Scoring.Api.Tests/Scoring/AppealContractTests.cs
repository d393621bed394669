using Grpc.Core;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>The Appeals and Audit contracts, run against every storage configuration.</summary>
public abstract class AppealContractTests(Backend backend)
{
    private const string Statement = "The linked post was satire, not harassment.";
    private const string Rationale = "Context shows satire; no target.";

    private ScoringApp App => backend.App;
    private ConductScoring.ConductScoringClient Scoring => App.Scoring;
    private V1.Appeals.AppealsClient Appeals => App.Appeals;
    private V1.Audit.AuditClient Audit => App.Audit;

    /// <summary>A fresh HIGH harassment violation decided by mod-7 (40 points, RESTRICTED).</summary>
    private async Task<Violation> RecordAsync(string? userId = null, Severity severity = Severity.High)
    {
        var request = Violation(userId ?? NewUserId(), "harassment", severity);
        request.DecidedBy = "mod-7";
        return (await Scoring.RecordViolationAsync(request)).Violation;
    }

    private Task<Appeal> SubmitAsync(Violation violation, string? requestId = null) =>
        Appeals.SubmitAppealAsync(new SubmitAppealRequest
        {
            ViolationId = violation.ViolationId,
            UserId = violation.UserId,
            Statement = Statement,
            RequestId = requestId ?? "",
        }).ResponseAsync;

    private Task<DecideAppealResponse> DecideAsync(Appeal appeal, string reviewer, AppealDecision decision, Severity newSeverity = Severity.Unspecified) =>
        Appeals.DecideAppealAsync(new DecideAppealRequest
        {
            AppealId = appeal.AppealId,
            ReviewerId = reviewer,
            Decision = decision,
            NewSeverity = newSeverity,
            Rationale = Rationale,
        }).ResponseAsync;

    [Fact]
    public async Task Submitting_opens_an_appeal_due_after_the_review_sla_and_marks_the_score_contested()
    {
        var violation = await RecordAsync();

        var appeal = await SubmitAsync(violation);

        Assert.Equal((AppealState.Submitted, violation.ViolationId, violation.UserId, Statement), (appeal.State, appeal.ViolationId, appeal.UserId, appeal.Statement));
        Assert.Equal(appeal.SubmittedAt.ToDateTimeOffset() + TimeSpan.FromHours(72), appeal.DueAt.ToDateTimeOffset());
        Assert.Equal("", appeal.Assignee);
        Assert.Equal(appeal, await Appeals.GetAppealAsync(new GetAppealRequest { AppealId = appeal.AppealId }));

        var score = await Scoring.GetScoreAsync(new GetScoreRequest { UserId = violation.UserId });
        Assert.True(score.Contested);
        var listed = Assert.Single((await Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = violation.UserId })).Violations);
        Assert.Equal((appeal.AppealId, AppealState.Submitted), (listed.AppealId, listed.AppealState));
    }

    [Fact]
    public async Task Another_users_or_an_unknown_violation_is_not_found()
    {
        var violation = await RecordAsync();
        var stranger = new SubmitAppealRequest { ViolationId = violation.ViolationId, UserId = NewUserId(), Statement = Statement };
        var unknown = new SubmitAppealRequest { ViolationId = Guid.NewGuid().ToString(), UserId = violation.UserId, Statement = Statement };

        await AssertFails(StatusCode.NotFound, () => Appeals.SubmitAppealAsync(stranger).ResponseAsync);
        await AssertFails(StatusCode.NotFound, () => Appeals.SubmitAppealAsync(unknown).ResponseAsync);
        await AssertFails(StatusCode.NotFound, () => Appeals.GetAppealAsync(new GetAppealRequest { AppealId = Guid.NewGuid().ToString() }).ResponseAsync);
    }

    [Fact]
    public async Task One_appeal_per_violation_until_it_is_withdrawn()
    {
        var violation = await RecordAsync();
        var first = await SubmitAsync(violation);

        await AssertFails(StatusCode.AlreadyExists, () => SubmitAsync(violation));
        await Appeals.WithdrawAppealAsync(new WithdrawAppealRequest { AppealId = first.AppealId, UserId = violation.UserId });
        var second = await SubmitAsync(violation);

        Assert.NotEqual(first.AppealId, second.AppealId);
        await DecideAsync(second, "rev-1", AppealDecision.Uphold);
        await AssertFails(StatusCode.AlreadyExists, () => SubmitAsync(violation));
    }

    [Fact]
    public async Task A_repeated_request_id_returns_the_same_appeal()
    {
        var violation = await RecordAsync();

        var first = await SubmitAsync(violation, requestId: "req-1");
        var again = await SubmitAsync(violation, requestId: "req-1");

        Assert.Equal(first, again);
        var entries = await Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { TargetId = first.AppealId });
        Assert.Single(entries.Entries);

        var other = await RecordAsync(violation.UserId);
        await AssertFails(StatusCode.AlreadyExists, () => SubmitAsync(other, requestId: "req-1"));
    }

    [Fact]
    public async Task The_appeal_window_closes_after_appealable_until()
    {
        var userId = NewUserId();
        var onTime = await RecordAsync(userId);
        var late = await RecordAsync(userId);

        App.Time.SetUtcNow(onTime.AppealableUntil.ToDateTimeOffset());
        Assert.Equal(AppealState.Submitted, (await SubmitAsync(onTime)).State);

        App.Time.SetUtcNow(late.AppealableUntil.ToDateTimeOffset() + TimeSpan.FromMicroseconds(1));
        var status = await AssertFails(StatusCode.FailedPrecondition, () => SubmitAsync(late));
        Assert.Contains("appeal window", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_an_active_violation_can_be_appealed()
    {
        var overturned = await RecordAsync();
        await DecideAsync(await SubmitAsync(overturned), "rev-1", AppealDecision.Overturn);
        var old = Violation(NewUserId(), "spam", Severity.Low, App.Time.GetUtcNow() - TimeSpan.FromDays(364));
        var expiring = (await Scoring.RecordViolationAsync(old)).Violation;
        App.Time.Advance(TimeSpan.FromDays(2));

        // An overturned violation always carries the decided appeal that overturned it: that answers first.
        await AssertFails(StatusCode.AlreadyExists, () => Appeals.SubmitAppealAsync(new SubmitAppealRequest
        {
            ViolationId = overturned.ViolationId, UserId = overturned.UserId, Statement = "again",
        }).ResponseAsync);
        var status = await AssertFails(StatusCode.FailedPrecondition, () => SubmitAsync(expiring));
        Assert.Contains("not active", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Assigning_moves_to_review_reassigns_and_never_to_the_maker_of_the_call()
    {
        var appeal = await SubmitAsync(await RecordAsync());

        var assigned = await Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1" });
        var reassigned = await Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-2" });

        Assert.Equal((AppealState.InReview, "rev-1"), (assigned.State, assigned.Assignee));
        Assert.Equal((AppealState.InReview, "rev-2"), (reassigned.State, reassigned.Assignee));
        await AssertFails(StatusCode.FailedPrecondition, () => Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "mod-7" }).ResponseAsync);
        await AssertFails(StatusCode.NotFound, () => Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = Guid.NewGuid().ToString(), ReviewerId = "rev-1" }).ResponseAsync);
    }

    [Fact]
    public async Task Only_the_assignee_decides_an_appeal_in_review_and_only_once()
    {
        var appeal = await SubmitAsync(await RecordAsync());
        await Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1" });

        await AssertFails(StatusCode.FailedPrecondition, () => DecideAsync(appeal, "rev-2", AppealDecision.Overturn));
        var decided = await DecideAsync(appeal, "rev-1", AppealDecision.Uphold);

        Assert.Equal((AppealState.Upheld, AppealDecision.Uphold, "rev-1", Rationale), (decided.Appeal.State, decided.Appeal.Decision, decided.Appeal.DecidedBy, decided.Appeal.Rationale));
        Assert.NotNull(decided.Appeal.DecidedAt);
        Assert.Equal(40, decided.Score.Points, 1e-9);
        Assert.False(decided.Score.Contested);
        await AssertFails(StatusCode.FailedPrecondition, () => DecideAsync(appeal, "rev-1", AppealDecision.Overturn));
        await AssertFails(StatusCode.FailedPrecondition, () => Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-3" }).ResponseAsync);
    }

    [Fact]
    public async Task Nobody_decides_their_own_call()
    {
        var appeal = await SubmitAsync(await RecordAsync());

        var status = await AssertFails(StatusCode.FailedPrecondition, () => DecideAsync(appeal, "mod-7", AppealDecision.Overturn));

        Assert.Contains("contested call", status.Message, StringComparison.Ordinal);
        Assert.Equal(AppealState.Submitted, (await Appeals.GetAppealAsync(new GetAppealRequest { AppealId = appeal.AppealId })).State);
    }

    [Fact]
    public async Task Overturning_drops_the_standing_the_cache_and_contested_in_the_same_call()
    {
        var violation = await RecordAsync();
        var appeal = await SubmitAsync(violation);
        var before = await Scoring.GetScoreAsync(new GetScoreRequest { UserId = violation.UserId });
        Assert.Equal((Standing.Restricted, true), (before.Standing, before.Contested));

        var decided = await DecideAsync(appeal, "rev-1", AppealDecision.Overturn);

        Assert.Equal((AppealState.Overturned, "rev-1"), (decided.Appeal.State, decided.Appeal.Assignee));
        Assert.Equal((0.0, Standing.Good, 0, false), (decided.Score.Points, decided.Score.Standing, decided.Score.ActiveViolations, decided.Score.Contested));

        if (backend.CacheWritesWaitForReplicas)
        {
            // The decision's cache write may have missed its replica (CommandCounter.UntilCachedAsync).
            await App.Commands.UntilCachedAsync(() => Scoring.GetScoreAsync(new GetScoreRequest { UserId = violation.UserId }).ResponseAsync);
        }

        var commands = App.Commands.Count;
        var after = await Scoring.GetScoreAsync(new GetScoreRequest { UserId = violation.UserId });
        Assert.Equal(commands, App.Commands.Count);
        Assert.Equal((0.0, Standing.Good, false), (after.Points, after.Standing, after.Contested));

        Assert.Empty((await Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = violation.UserId })).Violations);
        var listed = Assert.Single((await Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = violation.UserId, IncludeInactive = true })).Violations);
        Assert.Equal((ViolationStatus.Overturned, 0.0, AppealState.Overturned), (listed.Status, listed.CurrentPoints, listed.AppealState));
    }

    [Fact]
    public async Task Reducing_lowers_the_severity_and_recomputes_base_points()
    {
        var appeal = await SubmitAsync(await RecordAsync());

        await AssertInvalid("new_severity", () => DecideAsync(appeal, "rev-1", AppealDecision.Reduce));
        await AssertInvalid("new_severity", () => DecideAsync(appeal, "rev-1", AppealDecision.Uphold, Severity.Low));
        await AssertFails(StatusCode.FailedPrecondition, () => DecideAsync(appeal, "rev-1", AppealDecision.Reduce, Severity.Critical));
        var decided = await DecideAsync(appeal, "rev-1", AppealDecision.Reduce, Severity.Low);

        Assert.Equal((AppealState.Reduced, Severity.Low), (decided.Appeal.State, decided.Appeal.NewSeverity));
        Assert.Equal((5.0, Standing.Good), (decided.Score.Points, decided.Score.Standing));
        var listed = Assert.Single((await Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = appeal.UserId })).Violations);
        Assert.Equal((Severity.Low, 5.0), (listed.Severity, listed.BasePoints));
    }

    [Fact]
    public async Task Only_the_appeals_user_withdraws_and_only_while_it_is_open()
    {
        var appeal = await SubmitAsync(await RecordAsync());

        await AssertFails(StatusCode.NotFound, () => Appeals.WithdrawAppealAsync(new WithdrawAppealRequest { AppealId = appeal.AppealId, UserId = NewUserId() }).ResponseAsync);
        await Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1" });
        var withdrawn = await Appeals.WithdrawAppealAsync(new WithdrawAppealRequest { AppealId = appeal.AppealId, UserId = appeal.UserId });

        Assert.Equal(AppealState.Withdrawn, withdrawn.State);
        Assert.False((await Scoring.GetScoreAsync(new GetScoreRequest { UserId = appeal.UserId })).Contested);
        await AssertFails(StatusCode.FailedPrecondition, () => Appeals.WithdrawAppealAsync(new WithdrawAppealRequest { AppealId = appeal.AppealId, UserId = appeal.UserId }).ResponseAsync);
        await AssertFails(StatusCode.FailedPrecondition, () => DecideAsync(appeal, "rev-1", AppealDecision.Uphold));
    }

    [Theory]
    [InlineData(AppealState.Upheld)]
    [InlineData(AppealState.Overturned)]
    [InlineData(AppealState.Reduced)]
    [InlineData(AppealState.Withdrawn)]
    public async Task A_closed_appeal_refuses_every_further_transition(AppealState closedAs)
    {
        var appeal = await SubmitAsync(await RecordAsync());
        _ = closedAs switch
        {
            AppealState.Upheld => await DecideAsync(appeal, "rev-1", AppealDecision.Uphold),
            AppealState.Overturned => await DecideAsync(appeal, "rev-1", AppealDecision.Overturn),
            AppealState.Reduced => await DecideAsync(appeal, "rev-1", AppealDecision.Reduce, Severity.Low),
            _ => new DecideAppealResponse { Appeal = await Appeals.WithdrawAppealAsync(new WithdrawAppealRequest { AppealId = appeal.AppealId, UserId = appeal.UserId }) },
        };

        await AssertFails(StatusCode.FailedPrecondition, () => Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-2" }).ResponseAsync);
        await AssertFails(StatusCode.FailedPrecondition, () => DecideAsync(appeal, "rev-1", AppealDecision.Uphold));
        await AssertFails(StatusCode.FailedPrecondition, () => Appeals.WithdrawAppealAsync(new WithdrawAppealRequest { AppealId = appeal.AppealId, UserId = appeal.UserId }).ResponseAsync);
        Assert.Equal(closedAs, (await Appeals.GetAppealAsync(new GetAppealRequest { AppealId = appeal.AppealId })).State);
    }

    [Fact]
    public async Task The_queue_lists_open_appeals_oldest_first_with_filters_and_pages()
    {
        var userId = NewUserId();
        var appeals = new List<Appeal>();
        for (var i = 0; i < 5; i++)
        {
            appeals.Add(await SubmitAsync(await RecordAsync(userId)));
            App.Time.Advance(TimeSpan.FromMinutes(1));
        }

        var reviewer = $"rev-{Guid.NewGuid():N}";
        await Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeals[1].AppealId, ReviewerId = reviewer });
        await DecideAsync(appeals[2], "rev-1", AppealDecision.Uphold);

        var open = await Appeals.ListAppealsAsync(new ListAppealsRequest { UserId = userId });
        Assert.Equal([appeals[0].AppealId, appeals[1].AppealId, appeals[3].AppealId, appeals[4].AppealId], open.Appeals.Select(a => a.AppealId));

        var mine = await Appeals.ListAppealsAsync(new ListAppealsRequest { Assignee = reviewer });
        Assert.Equal([appeals[1].AppealId], mine.Appeals.Select(a => a.AppealId));

        var upheld = await Appeals.ListAppealsAsync(new ListAppealsRequest { UserId = userId, States = { AppealState.Upheld } });
        Assert.Equal([appeals[2].AppealId], upheld.Appeals.Select(a => a.AppealId));

        var first = await Appeals.ListAppealsAsync(new ListAppealsRequest { UserId = userId, PageSize = 3 });
        var second = await Appeals.ListAppealsAsync(new ListAppealsRequest { UserId = userId, PageSize = 3, PageToken = first.NextPageToken });
        Assert.Equal(open.Appeals.Select(a => a.AppealId), first.Appeals.Concat(second.Appeals).Select(a => a.AppealId));
        Assert.Equal("", second.NextPageToken);

        Assert.Empty((await Appeals.ListAppealsAsync(new ListAppealsRequest { UserId = userId, OverdueOnly = true })).Appeals);
        App.Time.SetUtcNow(appeals[0].DueAt.ToDateTimeOffset() + TimeSpan.FromSeconds(30));
        var overdue = await Appeals.ListAppealsAsync(new ListAppealsRequest { UserId = userId, OverdueOnly = true });
        Assert.Equal([appeals[0].AppealId], overdue.Appeals.Select(a => a.AppealId));
    }

    [Fact]
    public async Task Every_state_change_is_on_the_users_audit_chain_without_free_text()
    {
        var violation = await RecordAsync();
        var appeal = await SubmitAsync(violation);
        await Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1" });
        await Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-2" });
        await DecideAsync(appeal, "rev-2", AppealDecision.Reduce, Severity.Medium);
        var replay = await Scoring.RecordViolationAsync(ReplayOf(violation));
        Assert.True(replay.Duplicate);

        var entries = (await Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { UserId = violation.UserId })).Entries;

        Assert.Equal(["violation.recorded", "appeal.submitted", "appeal.assigned", "appeal.assigned", "appeal.decided"], entries.Select(e => e.Action));
        Assert.Equal([1L, 2, 3, 4, 5], entries.Select(e => e.Sequence));
        Assert.Equal("", entries[0].PreviousHash);
        Assert.All(entries.Skip(1).Zip(entries), pair => Assert.Equal(pair.Second.Hash, pair.First.PreviousHash));
        Assert.Equal((violation.Source, violation.ViolationId, "harassment", "active", Severity.High, 40.0),
            (entries[0].Actor, entries[0].TargetId, entries[0].Reason, entries[0].AfterState, entries[0].AfterSeverity, entries[0].AfterPoints));
        Assert.Equal(("rev-2", "reduce", "in_review", "reduced", Severity.High, Severity.Medium, 40.0, 15.0),
            (entries[4].Actor, entries[4].Reason, entries[4].BeforeState, entries[4].AfterState, entries[4].BeforeSeverity, entries[4].AfterSeverity, entries[4].BeforePoints, entries[4].AfterPoints));
        Assert.Equal(["assigned", "reassigned"], entries.Where(e => e.Action == "appeal.assigned").Select(e => e.Reason));
        Assert.DoesNotContain(entries, e => e.ToString().Contains("satire", StringComparison.Ordinal) || e.ToString().Contains("unsolicited", StringComparison.Ordinal));

        var aboutAppeal = await Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { TargetId = appeal.AppealId, PageSize = 2 });
        var rest = await Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { TargetId = appeal.AppealId, PageToken = aboutAppeal.NextPageToken });
        Assert.Equal([2L, 3, 4, 5], aboutAppeal.Entries.Concat(rest.Entries).Select(e => e.Sequence));

        var verified = await Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = violation.UserId });
        Assert.Equal((true, 5L, 0L), (verified.Valid, verified.EntriesChecked, verified.FirstBrokenSequence));
    }

    [Fact]
    public async Task The_entries_about_a_violation_include_every_entry_about_its_appeals_oldest_first_in_pages()
    {
        var violation = await RecordAsync();
        var other = await RecordAsync(violation.UserId, Severity.Low);
        await SubmitAsync(other);
        var withdrawn = await SubmitAsync(violation);
        await Appeals.WithdrawAppealAsync(new WithdrawAppealRequest { AppealId = withdrawn.AppealId, UserId = violation.UserId });
        var appeal = await SubmitAsync(violation);
        await Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1" });
        await DecideAsync(appeal, "rev-1", AppealDecision.Overturn);

        var entries = new List<AuditEntry>();
        var page = new ListAuditEntriesResponse { NextPageToken = "" };
        do
        {
            page = await Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { TargetId = violation.ViolationId, PageSize = 2, PageToken = page.NextPageToken });
            entries.AddRange(page.Entries);
        }
        while (page.NextPageToken != "");

        Assert.Equal(
            ["violation.recorded", "appeal.submitted", "appeal.withdrawn", "appeal.submitted", "appeal.assigned", "appeal.decided"],
            entries.Select(e => e.Action));
        Assert.Equal(
            [violation.ViolationId, withdrawn.AppealId, withdrawn.AppealId, appeal.AppealId, appeal.AppealId, appeal.AppealId],
            entries.Select(e => e.TargetId));
        Assert.Equal(entries.Select(e => e.Sequence).Order(), entries.Select(e => e.Sequence));
        Assert.Equal(("overturn", "overturned"), (entries[^1].Reason, entries[^1].AfterState));
    }

    /// <summary>The original report again: a duplicate, which must not be audited.</summary>
    private static RecordViolationRequest ReplayOf(Violation original) => new()
    {
        Source = original.Source,
        EventId = original.EventId,
        UserId = original.UserId,
        Category = original.Category,
        Severity = Severity.High,
        OccurredAt = original.OccurredAt,
        EvidenceRef = original.EvidenceRef,
        Note = original.Note,
        DecidedBy = original.DecidedBy,
        Automated = original.Automated,
    };

    [Theory]
    [InlineData("statement", "")]
    [InlineData("statement", "   ")]
    [InlineData("statement", "long")]
    [InlineData("violation_id", "")]
    [InlineData("user_id", "with space")]
    [InlineData("request_id", "long")]
    public async Task SubmitAppeal_rejects_each_invalid_field_by_name(string field, string value)
    {
        var request = new SubmitAppealRequest { ViolationId = "v-1", UserId = "u-1", Statement = Statement };
        switch (field)
        {
            case "statement": request.Statement = value == "long" ? new string('s', 5001) : value; break;
            case "violation_id": request.ViolationId = value; break;
            case "user_id": request.UserId = value; break;
            case "request_id": request.RequestId = new string('r', 129); break;
        }

        await AssertInvalid(field, () => Appeals.SubmitAppealAsync(request).ResponseAsync);
    }

    [Theory]
    [InlineData("decision")]
    [InlineData("rationale")]
    [InlineData("reviewer_id")]
    [InlineData("appeal_id")]
    public async Task DecideAppeal_rejects_each_invalid_field_by_name(string field)
    {
        var request = new DecideAppealRequest { AppealId = "a-1", ReviewerId = "rev-1", Decision = AppealDecision.Uphold, Rationale = Rationale };
        switch (field)
        {
            case "decision": request.Decision = AppealDecision.Unspecified; break;
            case "rationale": request.Rationale = new string('r', 5001); break;
            case "reviewer_id": request.ReviewerId = ""; break;
            case "appeal_id": request.AppealId = ""; break;
        }

        await AssertInvalid(field, () => Appeals.DecideAppealAsync(request).ResponseAsync);
    }

    [Fact]
    public async Task Listing_rejects_bad_filters_and_paging()
    {
        await AssertInvalid("states[0]", () => Appeals.ListAppealsAsync(new ListAppealsRequest { States = { AppealState.Unspecified } }).ResponseAsync);
        await AssertInvalid("page_size", () => Appeals.ListAppealsAsync(new ListAppealsRequest { PageSize = 501 }).ResponseAsync);
        await AssertInvalid("page_token", () => Appeals.ListAppealsAsync(new ListAppealsRequest { PageToken = "x" }).ResponseAsync);
        await AssertInvalid("user_id", () => Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest()).ResponseAsync);
        await AssertInvalid("user_id", () => Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest()).ResponseAsync);
    }
}

public sealed class PostgresRedisAppealTests(PostgresRedisBackend backend) : AppealContractTests(backend), IClassFixture<PostgresRedisBackend>;

public sealed class SqliteAppealTests(SqliteBackend backend) : AppealContractTests(backend), IClassFixture<SqliteBackend>;
public sealed class PgBouncerAppealTests(PgBouncerBackend backend) : AppealContractTests(backend), IClassFixture<PgBouncerBackend>;
public sealed class RedisClusterAppealTests(RedisClusterBackend backend) : AppealContractTests(backend), IClassFixture<RedisClusterBackend>;
