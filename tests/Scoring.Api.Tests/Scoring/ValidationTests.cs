using Google.Protobuf.WellKnownTypes;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>Every rule of the contract: INVALID_ARGUMENT naming the field, and nothing stored. Run on every storage configuration.</summary>
public abstract class ValidationTests(Backend backend)
{
    private ConductScoring.ConductScoringClient Client => backend.App.Scoring;
    private DateTimeOffset Now => backend.App.Time.GetUtcNow();

    public static TheoryData<string, string> InvalidRecordRequests => new()
    {
        { "source", "" },
        { "source", "Upper.Case" },
        { "source", "has space" },
        { "source", new string('s', 65) },
        { "event_id", "" },
        { "event_id", "has space" },
        { "event_id", "tab\tinside" },
        { "event_id", new string('e', 129) },
        { "user_id", "" },
        { "user_id", "has space" },
        { "user_id", "bell\u0007" },
        { "user_id", new string('u', 129) },
        { "category", "" },
        { "category", "jaywalking" },
        { "severity", "unspecified" },
        { "severity", "out-of-range" },
        { "occurred_at", "six-minutes-ahead" },
        { "occurred_at", "older-than-max-age" },
        { "occurred_at", "unrepresentable" },
        { "evidence_ref", new string('r', 2049) },
        { "note", new string('n', 2001) },
        { "decided_by", new string('d', 129) },
    };

    [Theory]
    [MemberData(nameof(InvalidRecordRequests))]
    public async Task RecordViolation_rejects_each_invalid_field_by_name(string field, string value)
    {
        var userId = NewUserId();
        var request = Violation(userId);
        switch (field)
        {
            case "source": request.Source = value; break;
            case "event_id": request.EventId = value; break;
            case "user_id": request.UserId = value; break;
            case "category": request.Category = value; break;
            case "severity": request.Severity = value == "unspecified" ? Severity.Unspecified : (Severity)9; break;
            case "occurred_at":
                request.OccurredAt = value switch
                {
                    "six-minutes-ahead" => Timestamp.FromDateTimeOffset(Now + TimeSpan.FromMinutes(6)),
                    "older-than-max-age" => Timestamp.FromDateTimeOffset(Now - TimeSpan.FromDays(365) - TimeSpan.FromSeconds(1)),
                    _ => new Timestamp { Seconds = long.MaxValue },
                };
                break;
            case "evidence_ref": request.EvidenceRef = value; break;
            case "note": request.Note = value; break;
            case "decided_by": request.DecidedBy = value; break;
        }

        await AssertInvalid(field, () => Client.RecordViolationAsync(request).ResponseAsync);

        var stored = await Client.ListViolationsAsync(new ListViolationsRequest { UserId = userId, IncludeInactive = true });
        Assert.Empty(stored.Violations);
    }

    [Fact]
    public async Task The_limits_themselves_are_accepted()
    {
        var request = Violation(new string('u', 128), occurredAt: Now + TimeSpan.FromMinutes(5), source: "a.b_c:d-" + new string('9', 56));
        request.EventId = new string('~', 128);
        request.EvidenceRef = new string('r', 2048);
        request.Note = new string('n', 2000);
        request.DecidedBy = new string('d', 128);

        var response = await Client.RecordViolationAsync(request);

        Assert.False(response.Duplicate);
        var oldest = Violation(NewUserId(), occurredAt: Now - TimeSpan.FromDays(365));
        Assert.False((await Client.RecordViolationAsync(oldest)).Duplicate);
    }

    [Fact]
    public async Task An_invalid_request_lists_every_bad_field_at_once()
    {
        var request = new RecordViolationRequest { Source = "BAD", Category = "nope" };

        var status = await AssertFails(global::Grpc.Core.StatusCode.InvalidArgument, () => Client.RecordViolationAsync(request).ResponseAsync);

        var fields = status.GetDetail<Google.Rpc.BadRequest>().FieldViolations.Select(v => v.Field).ToHashSet();
        Assert.Superset(new HashSet<string> { "source", "event_id", "user_id", "category", "severity" }, fields);
        Assert.Contains("category 'nope' is not in policy", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordViolations_needs_one_to_five_hundred_items()
    {
        await AssertInvalid("violations", () => Client.RecordViolationsAsync(new RecordViolationsRequest()).ResponseAsync);

        var tooMany = new RecordViolationsRequest();
        tooMany.Violations.AddRange(Enumerable.Range(0, 501).Select(_ => Violation(NewUserId())));
        await AssertInvalid("violations", () => Client.RecordViolationsAsync(tooMany).ResponseAsync);
    }

    [Theory]
    [InlineData("")]
    [InlineData("with space")]
    [InlineData("line\nbreak")]
    public async Task GetScore_rejects_a_malformed_user_id(string userId)
    {
        await AssertInvalid("user_id", () => Client.GetScoreAsync(new GetScoreRequest { UserId = userId }).ResponseAsync);
    }

    [Fact]
    public async Task GetScores_needs_one_to_a_thousand_well_formed_user_ids()
    {
        await AssertInvalid("user_ids", () => Client.GetScoresAsync(new GetScoresRequest()).ResponseAsync);

        var tooMany = new GetScoresRequest();
        tooMany.UserIds.AddRange(Enumerable.Range(0, 1001).Select(i => $"u{i}"));
        await AssertInvalid("user_ids", () => Client.GetScoresAsync(tooMany).ResponseAsync);

        await AssertInvalid("user_ids[1]", () => Client.GetScoresAsync(new GetScoresRequest { UserIds = { "ok", "not ok" } }).ResponseAsync);

        var atLimit = new GetScoresRequest();
        atLimit.UserIds.AddRange(Enumerable.Range(0, 1000).Select(i => $"u{i}"));
        Assert.Equal(1000, (await Client.GetScoresAsync(atLimit)).Scores.Count);
    }

    [Theory]
    [InlineData("user_id", "", 0, "")]
    [InlineData("page_size", "u-1", -1, "")]
    [InlineData("page_size", "u-1", 501, "")]
    [InlineData("page_token", "u-1", 0, "not-a-token")]
    [InlineData("page_token", "u-1", 0, "bm8tYmFy")]
    public async Task ListViolations_rejects_bad_paging(string field, string userId, int pageSize, string pageToken)
    {
        var request = new ListViolationsRequest { UserId = userId, PageSize = pageSize, PageToken = pageToken };

        await AssertInvalid(field, () => Client.ListViolationsAsync(request).ResponseAsync);
    }
}

public sealed class PostgresRedisValidationTests(PostgresRedisBackend backend) : ValidationTests(backend), IClassFixture<PostgresRedisBackend>;

public sealed class SqliteValidationTests(SqliteBackend backend) : ValidationTests(backend), IClassFixture<SqliteBackend>;
public sealed class PgBouncerValidationTests(PgBouncerBackend backend) : ValidationTests(backend), IClassFixture<PgBouncerBackend>;
