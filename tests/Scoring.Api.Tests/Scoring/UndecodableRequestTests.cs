using Google.Protobuf;
using Grpc.Core;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// Requests that cannot be decoded (not protobuf, truncated, strings that are not UTF-8), sent as raw bytes:
/// INVALID_ARGUMENT, naming the string field when there is one, never UNKNOWN.
/// </summary>
public abstract class UndecodableRequestTests(Backend backend)
{
    private ScoringApp App => backend.App;

    private async Task<Violation> RecordAsync(string userId) => (await App.Scoring.RecordViolationAsync(Violation(userId))).Violation;

    [Fact]
    public async Task A_string_that_is_not_UTF8_is_refused_naming_the_field()
    {
        var violation = await RecordAsync(NewUserId());
        var statement = WithRawString(new SubmitAppealRequest { ViolationId = violation.ViolationId, UserId = violation.UserId }, SubmitAppealRequest.StatementFieldNumber, [0x61, 0xC3, 0x28]);

        var status = await AssertFails(StatusCode.InvalidArgument, () => App.UnaryAsync("scoring.v1.Appeals", "SubmitAppeal", statement));

        AssertNamesField(status, "statement");
        Assert.Contains("statement is not valid UTF-8", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lone_surrogate_encoded_in_a_batch_item_is_refused_as_invalid_UTF8_naming_its_path()
    {
        var userId = NewUserId();
        var third = WithRawString(Violation(userId), RecordViolationRequest.NoteFieldNumber, [0xED, 0xA0, 0x80]);
        var batch = new RecordViolationsRequest { Violations = { Violation(userId), Violation(userId) } }.ToByteArray()
            .Concat(LengthDelimited(RecordViolationsRequest.ViolationsFieldNumber, third)).ToArray();

        var status = await AssertFails(StatusCode.InvalidArgument, () => App.UnaryAsync("scoring.v1.ConductScoring", "RecordViolations", batch));

        AssertNamesField(status, "violations[2].note");
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    [InlineData("wrong-wire-type")]
    [InlineData("bad-tag")]
    public async Task A_message_that_is_not_protobuf_is_refused_with_invalid_argument(string kind)
    {
        var valid = new GetScoreRequest { UserId = "u-1", IncludeBreakdown = true }.ToByteArray();
        byte[] payload = kind switch
        {
            "garbage" => [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            "truncated" => valid[..^3],
            // Field 1 (user_id) sent as a 64-bit fixed value with too few bytes.
            "wrong-wire-type" => [0x09, 0x01, 0x02],
            _ => [0x00, 0x01],
        };

        var status = await AssertFails(StatusCode.InvalidArgument, () => App.UnaryAsync("scoring.v1.ConductScoring", "GetScore", payload));

        Assert.Contains("could not be decoded", status.Message, StringComparison.Ordinal);
    }

    /// <summary><paramref name="message"/> with one more occurrence of a string field holding exactly <paramref name="bytes"/>.</summary>
    private static byte[] WithRawString(IMessage message, int fieldNumber, byte[] bytes) =>
        [.. message.ToByteArray(), .. LengthDelimited(fieldNumber, bytes)];

    private static byte[] LengthDelimited(int fieldNumber, byte[] bytes)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(fieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(bytes));
        output.Flush();
        return stream.ToArray();
    }
}

public sealed class PostgresRedisUndecodableRequestTests(PostgresRedisBackend backend) : UndecodableRequestTests(backend), IClassFixture<PostgresRedisBackend>;

public sealed class SqliteUndecodableRequestTests(SqliteBackend backend) : UndecodableRequestTests(backend), IClassFixture<SqliteBackend>;
public sealed class PgBouncerUndecodableRequestTests(PgBouncerBackend backend) : UndecodableRequestTests(backend), IClassFixture<PgBouncerBackend>;
