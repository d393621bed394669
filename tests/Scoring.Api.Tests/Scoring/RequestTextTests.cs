using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Scoring.Api.Grpc;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// Characters no request may carry: INVALID_ARGUMENT naming the field by its proto path, before any query,
/// the same on every storage configuration.
/// </summary>
public abstract class RequestTextTests(Backend backend)
{
    private ScoringApp App => backend.App;

    private async Task<Violation> RecordAsync(string userId) => (await App.Scoring.RecordViolationAsync(Violation(userId))).Violation;

    [Fact]
    public async Task A_NUL_in_an_appeal_statement_is_refused_naming_statement_and_nothing_is_stored()
    {
        var violation = await RecordAsync(NewUserId());
        var request = new SubmitAppealRequest { ViolationId = violation.ViolationId, UserId = violation.UserId, Statement = "It was\0 satire." };

        var status = await AssertFails(StatusCode.InvalidArgument, () => App.Appeals.SubmitAppealAsync(request).ResponseAsync);

        AssertNamesField(status, "statement");
        Assert.Contains("C0 control character (U+0000) at index 6", status.Message, StringComparison.Ordinal);
        var appeals = await App.Appeals.ListAppealsAsync(new ListAppealsRequest { UserId = violation.UserId });
        Assert.Empty(appeals.Appeals);
    }

    [Fact]
    public async Task A_control_character_in_one_batch_item_is_named_by_its_path_and_no_item_is_recorded()
    {
        var userId = NewUserId();
        var request = new RecordViolationsRequest { Violations = { Violation(userId), Violation(userId), Violation(userId) } };
        request.Violations[1].Note = "next line\u0085here";

        var status = await AssertFails(StatusCode.InvalidArgument, () => App.Scoring.RecordViolationsAsync(request).ResponseAsync);

        AssertNamesField(status, "violations[1].note");
        Assert.Contains("C1 control character (U+0085)", status.Message, StringComparison.Ordinal);
        var stored = await App.Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = userId, IncludeInactive = true });
        Assert.Empty(stored.Violations);
    }

    [Theory]
    [InlineData("\u0001", "a C0 control character (U+0001)")]
    [InlineData("\u001B[31m", "a C0 control character (U+001B)")]
    [InlineData("\u007F", "the DEL control character (U+007F)")]
    [InlineData("\u009F", "a C1 control character (U+009F)")]
    [InlineData("\uFFFE", "a Unicode noncharacter (U+FFFE)")]
    [InlineData("\uFDD0", "a Unicode noncharacter (U+FDD0)")]
    [InlineData("\U0010FFFF", "a Unicode noncharacter (U+10FFFF)")]
    public async Task Each_refused_character_class_is_named_in_the_message(string character, string expected)
    {
        var userId = NewUserId();
        var request = Violation(userId);
        request.Note = "before " + character + " after";

        var status = await AssertFails(StatusCode.InvalidArgument, () => App.Scoring.RecordViolationAsync(request).ResponseAsync);

        AssertNamesField(status, "note");
        Assert.Contains($"note contains {expected} at index 7", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_bad_field_is_named_at_once_and_tab_line_breaks_and_emoji_stay_allowed()
    {
        var violation = await RecordAsync(NewUserId());
        var fine = new SubmitAppealRequest { ViolationId = violation.ViolationId, UserId = violation.UserId, Statement = "Line one\r\n\tline two 😀 \U0001F468\u200D\U0001F469\u200D\U0001F467" };
        var decide = new DecideAppealRequest { AppealId = "a\u0000", ReviewerId = "r\u007F", Decision = AppealDecision.Uphold, Rationale = "ok\u0090" };

        var status = await AssertFails(StatusCode.InvalidArgument, () => App.Appeals.DecideAppealAsync(decide).ResponseAsync);

        var fields = status.GetDetail<Google.Rpc.BadRequest>().FieldViolations.Select(v => v.Field);
        Assert.Equal(new[] { "appeal_id", "reviewer_id", "rationale" }, fields);
        Assert.Equal(fine.Statement, (await App.Appeals.SubmitAppealAsync(fine)).Statement);
    }
}

public sealed class PostgresRedisRequestTextTests(PostgresRedisBackend backend) : RequestTextTests(backend), IClassFixture<PostgresRedisBackend>;

public sealed class SqliteRequestTextTests(SqliteBackend backend) : RequestTextTests(backend), IClassFixture<SqliteBackend>;

/// <summary>The check itself, on messages of any shape, without a server.</summary>
public sealed class RequestTextCheckTests
{
    [Fact]
    public void Map_values_and_nested_messages_are_named_by_their_path()
    {
        var message = new Struct
        {
            Fields =
            {
                ["clean"] = Value.ForString("fine"),
                ["dirty"] = Value.ForList(Value.ForString("ok"), Value.ForString("bell\u0007")),
            },
        };

        var exception = Assert.Throws<FluentValidation.ValidationException>(() => RequestText.EnsureClean(message));

        var failure = Assert.Single(exception.Errors);
        Assert.Equal("fields[dirty].list_value.values[1].string_value", failure.PropertyName);
    }

    [Fact]
    public void A_clean_request_is_checked_without_allocating()
    {
        var batch = new RecordViolationsRequest();
        batch.Violations.AddRange(Enumerable.Range(0, 50).Select(_ => Violation(NewUserId())));
        var single = new GetScoreRequest { UserId = "u-1" };
        RequestText.EnsureClean(batch);
        RequestText.EnsureClean(single);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            RequestText.EnsureClean(batch);
            RequestText.EnsureClean(single);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData("plain", -1)]
    [InlineData("tab\tnew\nline\rreturn", -1)]
    [InlineData("emoji 😀 and \U0001F9D1\u200D\U0001F4BB", -1)]
    [InlineData("\U00010BFE is an ordinary pair ending in DFFE", -1)]
    [InlineData("ab\u0000", 2)]
    [InlineData("x\U0001FFFF", 1)]
    [InlineData("\u00A0 no-break space is not C1, \u0085 is", 28)]
    public void The_first_refused_character_is_found(string text, int expected)
    {
        Assert.Equal(expected, RequestText.IndexOfRefused(text));
    }
}
public sealed class PgBouncerRequestTextTests(PgBouncerBackend backend) : RequestTextTests(backend), IClassFixture<PgBouncerBackend>;
