using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>The ConductScoring contract, run against every storage configuration.</summary>
public abstract class ScoringContractTests(Backend backend)
{
    protected ScoringApp App => backend.App;
    protected ConductScoring.ConductScoringClient Client => App.Scoring;
    protected DateTimeOffset Now => App.Time.GetUtcNow();

    [Fact]
    public async Task A_user_with_no_violations_scores_zero_in_good_standing()
    {
        var userId = NewUserId();

        var score = await Client.GetScoreAsync(new GetScoreRequest { UserId = userId });

        Assert.Equal(userId, score.UserId);
        Assert.Equal(0, score.Points);
        Assert.Equal(Standing.Good, score.Standing);
        Assert.Equal(0, score.ActiveViolations);
        Assert.Null(score.StandingImprovesAt);
        Assert.Equal("default-2026-11", score.PolicyVersion);
    }

    [Fact]
    public async Task Recording_a_violation_returns_it_with_the_score_after_the_write()
    {
        var userId = NewUserId();
        var request = Violation(userId, "fraud", Severity.High);

        var response = await Client.RecordViolationAsync(request);

        var violation = response.Violation;
        Assert.False(response.Duplicate);
        Assert.NotEmpty(violation.ViolationId);
        Assert.Equal((request.Source, request.EventId, userId, "fraud", Severity.High), (violation.Source, violation.EventId, violation.UserId, violation.Category, violation.Severity));
        Assert.Equal(60, violation.BasePoints);
        Assert.Equal(60, violation.CurrentPoints, 1e-9);
        // Instants are stored to the microsecond.
        var now = new DateTimeOffset(Now.UtcTicks - (Now.UtcTicks % 10), TimeSpan.Zero);
        Assert.Equal(now, violation.OccurredAt.ToDateTimeOffset());
        Assert.Equal(now, violation.RecordedAt.ToDateTimeOffset());
        Assert.Equal(now + TimeSpan.FromDays(180), violation.AppealableUntil.ToDateTimeOffset());
        Assert.Equal(ViolationStatus.Active, violation.Status);
        Assert.Equal((request.EvidenceRef, request.Note, request.DecidedBy, request.Automated), (violation.EvidenceRef, violation.Note, violation.DecidedBy, violation.Automated));

        Assert.Equal(60, response.Score.Points, 1e-9);
        Assert.Equal(Standing.Restricted, response.Score.Standing);
        Assert.Equal(1, response.Score.ActiveViolations);
        Assert.NotNull(response.Score.StandingImprovesAt);
    }

    [Fact]
    public async Task Replay_with_same_payload_returns_original_violation_and_changes_nothing()
    {
        var userId = NewUserId();
        var request = Violation(userId, occurredAt: Now - TimeSpan.FromHours(2));
        var first = await Client.RecordViolationAsync(request);
        App.Time.Advance(TimeSpan.FromMinutes(1));

        var replay = await Client.RecordViolationAsync(request);

        Assert.True(replay.Duplicate);
        Assert.Equal(first.Violation.ViolationId, replay.Violation.ViolationId);
        Assert.Equal(first.Violation.RecordedAt, replay.Violation.RecordedAt);
        Assert.Equal(1, replay.Score.ActiveViolations);
        var listed = await Client.ListViolationsAsync(new ListViolationsRequest { UserId = userId, IncludeInactive = true });
        Assert.Single(listed.Violations);
    }

    [Fact]
    public async Task Replay_without_occurred_at_matches_the_original_whenever_it_arrives()
    {
        var request = Violation(NewUserId());
        var first = await Client.RecordViolationAsync(request);
        App.Time.Advance(TimeSpan.FromHours(1));

        var replay = await Client.RecordViolationAsync(request);

        Assert.True(replay.Duplicate);
        Assert.Equal(first.Violation.OccurredAt, replay.Violation.OccurredAt);
    }

    [Fact]
    public async Task Same_key_with_a_different_payload_is_already_exists()
    {
        var request = Violation(NewUserId());
        await Client.RecordViolationAsync(request);
        var changed = request.Clone();
        changed.Severity = Severity.Low;

        var status = await AssertFails(StatusCode.AlreadyExists, () => Client.RecordViolationAsync(changed).ResponseAsync);

        Assert.Contains(request.EventId, status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_event_id_from_another_source_is_another_violation()
    {
        var userId = NewUserId();
        var request = Violation(userId, eventId: "shared-1", source: $"svc-a.{Guid.NewGuid():N}");
        var other = request.Clone();
        other.Source = $"svc-b.{Guid.NewGuid():N}";

        await Client.RecordViolationAsync(request);
        var second = await Client.RecordViolationAsync(other);

        Assert.False(second.Duplicate);
        Assert.Equal(2, second.Score.ActiveViolations);
    }

    [Fact]
    public async Task A_batch_records_each_item_and_reports_a_rejected_item_in_its_place()
    {
        var userId = NewUserId();
        var good = Violation(userId, "spam", Severity.Medium);
        var bad = Violation(userId, "not-a-category");
        var alsoGood = Violation(userId, "harassment", Severity.Low);
        var batch = new RecordViolationsRequest { Violations = { good, bad, alsoGood, good } };

        var response = await Client.RecordViolationsAsync(batch);

        Assert.Equal(4, response.Results.Count);
        Assert.Equal(good.EventId, response.Results[0].Violation.EventId);
        Assert.Null(response.Results[0].Error);
        Assert.Null(response.Results[1].Violation);
        AssertNamesField(response.Results[1].Error, "category");
        Assert.Equal(alsoGood.EventId, response.Results[2].Violation.EventId);
        Assert.True(response.Results[3].Duplicate);
        Assert.Equal(response.Results[0].Violation.ViolationId, response.Results[3].Violation.ViolationId);

        var score = await Client.GetScoreAsync(new GetScoreRequest { UserId = userId });
        Assert.Equal(2, score.ActiveViolations);
        Assert.Equal(20, score.Points, 1e-9);
    }

    [Fact]
    public async Task A_key_conflict_in_a_batch_is_already_exists_for_that_item_only()
    {
        var request = Violation(NewUserId());
        await Client.RecordViolationAsync(request);
        var conflicting = request.Clone();
        conflicting.Note = "changed";

        var response = await Client.RecordViolationsAsync(new RecordViolationsRequest { Violations = { conflicting, Violation(request.UserId) } });

        Assert.Equal((int)Google.Rpc.Code.AlreadyExists, response.Results[0].Error.Code);
        Assert.NotNull(response.Results[1].Violation);
    }

    [Fact]
    public async Task Points_halve_with_each_half_life_and_the_standing_follows()
    {
        var userId = NewUserId();
        await Client.RecordViolationAsync(Violation(userId, "spam", Severity.High));

        App.Time.Advance(TimeSpan.FromDays(14));
        var score = await Client.GetScoreAsync(new GetScoreRequest { UserId = userId });

        Assert.Equal(20, score.Points, 1e-6);
        Assert.Equal(Standing.Warned, score.Standing);
        Assert.Equal(Now, score.ComputedAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task A_zero_tolerance_critical_violation_bans_permanently()
    {
        var userId = NewUserId();
        var response = await Client.RecordViolationAsync(Violation(userId, "violent_extremism", Severity.Critical, occurredAt: Now - TimeSpan.FromDays(364)));

        Assert.Equal(Standing.Banned, response.Score.Standing);
        Assert.True(response.Score.Permanent);
        Assert.Null(response.Score.StandingImprovesAt);

        App.Time.Advance(TimeSpan.FromDays(30));
        var later = await Client.GetScoreAsync(new GetScoreRequest { UserId = userId });
        Assert.Equal(Standing.Banned, later.Standing);
        Assert.True(later.Permanent);
        Assert.Equal(1, later.ActiveViolations);
        Assert.True(later.Points < response.Score.Points);
    }

    [Fact]
    public async Task Standing_improves_at_tells_when_a_fresh_high_violation_stops_restricting()
    {
        var userId = NewUserId();
        var response = await Client.RecordViolationAsync(Violation(userId, "spam", Severity.High));
        var improvesAt = response.Score.StandingImprovesAt.ToDateTimeOffset();

        App.Time.SetUtcNow(improvesAt - TimeSpan.FromMinutes(1));
        Assert.Equal(Standing.Restricted, (await Client.GetScoreAsync(new GetScoreRequest { UserId = userId })).Standing);
        App.Time.SetUtcNow(improvesAt);
        Assert.Equal(Standing.Warned, (await Client.GetScoreAsync(new GetScoreRequest { UserId = userId })).Standing);
    }

    [Fact]
    public async Task Late_and_out_of_order_events_score_the_same_as_in_order_ones()
    {
        var inOrder = NewUserId();
        var outOfOrder = NewUserId();
        var times = new[] { Now - TimeSpan.FromDays(40), Now - TimeSpan.FromDays(9), Now - TimeSpan.FromHours(3) };
        var severities = new[] { Severity.Critical, Severity.Medium, Severity.High };

        for (var i = 0; i < times.Length; i++)
        {
            await Client.RecordViolationAsync(Violation(inOrder, "harassment", severities[i], times[i]));
        }

        for (var i = times.Length - 1; i >= 0; i--)
        {
            await Client.RecordViolationAsync(Violation(outOfOrder, "harassment", severities[i], times[i]));
        }

        var scores = await Client.GetScoresAsync(new GetScoresRequest { UserIds = { inOrder, outOfOrder } });
        Assert.Equal(scores.Scores[0].Points, scores.Scores[1].Points, 1e-9);
        Assert.Equal(scores.Scores[0].Standing, scores.Scores[1].Standing);
        Assert.Equal(scores.Scores[0].StandingImprovesAt, scores.Scores[1].StandingImprovesAt);
    }

    [Fact]
    public async Task GetScores_answers_in_request_order_including_unknown_and_repeated_users()
    {
        var warned = NewUserId();
        var restricted = NewUserId();
        var unknown = NewUserId();
        await Client.RecordViolationAsync(Violation(warned, "spam", Severity.Medium));
        await Client.RecordViolationAsync(Violation(restricted, "spam", Severity.High));

        var response = await Client.GetScoresAsync(new GetScoresRequest { UserIds = { restricted, unknown, warned, restricted } });

        Assert.Equal([restricted, unknown, warned, restricted], response.Scores.Select(s => s.UserId));
        Assert.Equal([Standing.Restricted, Standing.Good, Standing.Warned, Standing.Restricted], response.Scores.Select(s => s.Standing));
    }

    [Fact]
    public async Task The_breakdown_lists_contributions_only_when_asked()
    {
        var userId = NewUserId();
        var first = await Client.RecordViolationAsync(Violation(userId, "fraud", Severity.Low, Now - TimeSpan.FromDays(90)));
        await Client.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));

        var plain = await Client.GetScoreAsync(new GetScoreRequest { UserId = userId });
        var detailed = await Client.GetScoreAsync(new GetScoreRequest { UserId = userId, IncludeBreakdown = true });

        Assert.Empty(plain.Breakdown);
        Assert.Equal(2, detailed.Breakdown.Count);
        var fraud = Assert.Single(detailed.Breakdown, c => c.ViolationId == first.Violation.ViolationId);
        Assert.Equal(7.5, fraud.BasePoints, 1e-9);
        Assert.Equal(3.75, fraud.CurrentPoints, 1e-9);
        Assert.Equal(TimeSpan.FromDays(90), fraud.HalfLife.ToTimeSpan());
        Assert.Equal(detailed.Points, detailed.Breakdown.Sum(c => c.CurrentPoints), 1e-9);
    }

    [Fact]
    public async Task A_cache_hit_answers_without_asking_the_database()
    {
        var userId = NewUserId();
        await Client.RecordViolationAsync(Violation(userId));
        await App.Commands.UntilCachedAsync(() => Client.GetScoresAsync(new GetScoresRequest { UserIds = { userId, "never-seen-" + userId } }).ResponseAsync);

        var before = App.Commands.Count;
        Assert.True(before > 0, "the counter sees the service's commands");
        var score = await Client.GetScoreAsync(new GetScoreRequest { UserId = userId });
        var scores = await Client.GetScoresAsync(new GetScoresRequest { UserIds = { userId, "never-seen-" + userId } });

        Assert.Equal(before, App.Commands.Count);
        Assert.Equal(Standing.Restricted, score.Standing);
        Assert.Equal(score.Points, scores.Scores[0].Points);
    }

    [Fact]
    public async Task Violations_are_listed_newest_first_a_page_at_a_time()
    {
        var userId = NewUserId();
        var recorded = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            // Two share an occurred_at, so the id must break the tie consistently.
            var at = Now - TimeSpan.FromHours(i == 4 ? 3 : i);
            recorded.Add((await Client.RecordViolationAsync(Violation(userId, "spam", Severity.Low, at))).Violation.ViolationId);
        }

        var pages = new List<ListViolationsResponse>();
        var token = "";
        do
        {
            var page = await Client.ListViolationsAsync(new ListViolationsRequest { UserId = userId, PageSize = 3, PageToken = token });
            pages.Add(page);
            token = page.NextPageToken;
        }
        while (token != "");

        Assert.Equal([3, 3, 1], pages.Select(p => p.Violations.Count));
        var listed = pages.SelectMany(p => p.Violations).ToList();
        Assert.Equal(recorded.Order(), listed.Select(v => v.ViolationId).Order());
        Assert.Equal(listed.OrderByDescending(v => v.OccurredAt.ToDateTimeOffset()).ThenByDescending(v => v.ViolationId, StringComparer.Ordinal).Select(v => v.ViolationId),
            listed.Select(v => v.ViolationId));
        var defaultPage = await Client.ListViolationsAsync(new ListViolationsRequest { UserId = userId });
        Assert.Equal(7, defaultPage.Violations.Count);
        Assert.Equal("", defaultPage.NextPageToken);
    }

    [Fact]
    public async Task Expired_violations_are_listed_only_with_include_inactive_and_score_nothing()
    {
        var userId = NewUserId();
        var old = await Client.RecordViolationAsync(Violation(userId, "fraud", Severity.Critical, Now - TimeSpan.FromDays(364)));
        var recent = await Client.RecordViolationAsync(Violation(userId, "spam", Severity.Low));
        App.Time.Advance(TimeSpan.FromDays(2));

        var active = await Client.ListViolationsAsync(new ListViolationsRequest { UserId = userId });
        var all = await Client.ListViolationsAsync(new ListViolationsRequest { UserId = userId, IncludeInactive = true });
        var score = await Client.GetScoreAsync(new GetScoreRequest { UserId = userId });

        Assert.Equal([recent.Violation.ViolationId], active.Violations.Select(v => v.ViolationId));
        var expired = Assert.Single(all.Violations, v => v.ViolationId == old.Violation.ViolationId);
        Assert.Equal(ViolationStatus.Expired, expired.Status);
        Assert.Equal(0, expired.CurrentPoints);
        Assert.Equal(1, score.ActiveViolations);
    }

    [Fact]
    public async Task Concurrent_writers_for_one_user_end_with_the_score_of_a_fresh_recomputation()
    {
        var userId = NewUserId();
        var writes = Enumerable.Range(0, 24)
            .Select(i => Client.RecordViolationAsync(Violation(userId, i % 2 == 0 ? "spam" : "fraud", (Severity)(1 + (i % 4)), Now - TimeSpan.FromHours(i))).ResponseAsync);
        await Task.WhenAll(writes);

        await AssertScoreMatchesRecomputation(Client, userId, expectedCount: 24);
    }

    [Fact]
    public async Task The_policy_in_force_is_served()
    {
        var policy = await Client.GetPolicyAsync(new GetPolicyRequest());

        Assert.Equal("default-2026-11", policy.Version);
        Assert.Equal((5, 15, 40, 100), (policy.SeverityPoints.Low, policy.SeverityPoints.Medium, policy.SeverityPoints.High, policy.SeverityPoints.Critical));
        Assert.Equal((8, 35, 90, 250), (policy.Thresholds.Warned, policy.Thresholds.Restricted, policy.Thresholds.Suspended, policy.Thresholds.Banned));
        Assert.Equal(8, policy.Categories.Count);
        var extremism = Assert.Single(policy.Categories, c => c.ZeroTolerance);
        Assert.Equal(("violent_extremism", 2.0, TimeSpan.FromDays(180)), (extremism.Name, extremism.Weight, extremism.HalfLife.ToTimeSpan()));
        Assert.Equal(TimeSpan.FromDays(365), policy.MaxAge.ToTimeSpan());
        Assert.Equal(TimeSpan.FromDays(180), policy.AppealWindow.ToTimeSpan());
        Assert.Equal(TimeSpan.FromHours(72), policy.ReviewSla.ToTimeSpan());
    }

    [Theory]
    [InlineData("")]
    [InlineData("scoring.v1.ConductScoring")]
    [InlineData("readiness")]
    [InlineData("liveness")]
    public async Task Health_reports_serving_while_the_database_answers(string service)
    {
        var response = await App.Health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest { Service = service });

        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Reflection_lists_the_scoring_and_health_services()
    {
        var reflection = new global::Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(App.Channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new global::Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));

        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("scoring.v1.ConductScoring", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    /// <summary>The served score equals the model applied afresh to every stored violation.</summary>
    internal static async Task AssertScoreMatchesRecomputation(ConductScoring.ConductScoringClient client, string userId, int expectedCount)
    {
        var stored = await client.ListViolationsAsync(new ListViolationsRequest { UserId = userId, IncludeInactive = true, PageSize = 500 });
        var policy = Domain.Policies.ScoringPolicy.Default;
        var score = await client.GetScoreAsync(new GetScoreRequest { UserId = userId });
        var recomputed = Domain.Scores.ScoreCalculator.Compute(
            policy,
            [.. stored.Violations.Select(v => new Domain.Scores.ScoredViolation(v.ViolationId, v.Category, (Domain.Severity)v.Severity, v.OccurredAt.ToDateTimeOffset()))],
            score.ComputedAt.ToDateTimeOffset());

        Assert.Equal(expectedCount, stored.Violations.Count);
        Assert.Equal(expectedCount, score.ActiveViolations);
        Assert.Equal(recomputed.Points, score.Points, 1e-9);
        Assert.Equal((Standing)recomputed.Standing, score.Standing);
    }
}

public sealed class PostgresRedisScoringTests(PostgresRedisBackend backend) : ScoringContractTests(backend), IClassFixture<PostgresRedisBackend>;

public sealed class SqliteScoringTests(SqliteBackend backend) : ScoringContractTests(backend), IClassFixture<SqliteBackend>;
public sealed class PgBouncerScoringTests(PgBouncerBackend backend) : ScoringContractTests(backend), IClassFixture<PgBouncerBackend>;
public sealed class RedisClusterScoringTests(RedisClusterBackend backend) : ScoringContractTests(backend), IClassFixture<RedisClusterBackend>;
