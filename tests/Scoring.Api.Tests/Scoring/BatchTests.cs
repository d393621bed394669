using Grpc.Core;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// Batches, and single records arriving together, are written in one transaction per writer their users
/// belong to; each item keeps the single record's meaning.
/// </summary>
public abstract class BatchTests(Backend backend)
{
    private ScoringApp App => backend.App;

    [Fact]
    public async Task A_batch_over_many_users_scores_and_audits_each_user()
    {
        var users = Enumerable.Range(0, 5).Select(_ => NewUserId()).ToArray();
        var batch = new RecordViolationsRequest();
        foreach (var user in users)
        {
            batch.Violations.Add(Violation(user, "spam", Severity.Medium));
            batch.Violations.Add(Violation(user, "harassment", Severity.Low));
        }

        var response = await App.Scoring.RecordViolationsAsync(batch);

        Assert.All(response.Results, result => Assert.Null(result.Error));
        var scores = await App.Scoring.GetScoresAsync(new GetScoresRequest { UserIds = { users } });
        Assert.All(scores.Scores, score => Assert.Equal((2, 20.0), (score.ActiveViolations, score.Points)));
        foreach (var user in users)
        {
            var chain = await App.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = user });
            Assert.Equal((true, 2L), (chain.Valid, chain.EntriesChecked));
        }
    }

    [Fact]
    public async Task A_repeat_inside_a_batch_with_another_payload_is_already_exists_for_that_item()
    {
        var first = Violation(NewUserId());
        var changed = first.Clone();
        changed.Note = "changed";

        var response = await App.Scoring.RecordViolationsAsync(new RecordViolationsRequest { Violations = { first, changed } });

        Assert.False(response.Results[0].Duplicate);
        Assert.Equal((int)Google.Rpc.Code.AlreadyExists, response.Results[1].Error.Code);
        var score = await App.Scoring.GetScoreAsync(new GetScoreRequest { UserId = first.UserId });
        Assert.Equal(1, score.ActiveViolations);
    }

    [Fact]
    public async Task Concurrent_batches_over_the_same_users_neither_deadlock_nor_lose_a_write()
    {
        var users = Enumerable.Range(0, 12).Select(_ => NewUserId()).ToArray();
        var batches = Enumerable.Range(0, 6).Select(seed =>
        {
            // Each batch names the users in its own order: the service must lock them in one order.
            var batch = new RecordViolationsRequest();
            foreach (var user in users.OrderBy(u => HashCode.Combine(u, seed)))
            {
                batch.Violations.Add(Violation(user, "spam", Severity.Low));
            }

            return batch;
        });

        var responses = await Task.WhenAll(batches.Select(b => App.Scoring.RecordViolationsAsync(b).ResponseAsync));

        Assert.All(responses.SelectMany(r => r.Results), result => Assert.Null(result.Error));
        var scores = await App.Scoring.GetScoresAsync(new GetScoresRequest { UserIds = { users } });
        Assert.All(scores.Scores, score => Assert.Equal(6, score.ActiveViolations));
        var chain = await App.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = users[0] });
        Assert.Equal((true, 6L), (chain.Valid, chain.EntriesChecked));
    }

    [Fact]
    public async Task Batches_racing_for_one_event_record_it_once_and_keep_their_other_items()
    {
        // The same key for different users: no lock is shared, so the unique index settles the race.
        var shared = $"e-shared-{Guid.NewGuid():N}";
        var batches = Enumerable.Range(0, 6).Select(_ => new RecordViolationsRequest
        {
            Violations = { Violation(NewUserId(), eventId: shared), Violation(NewUserId()) },
        }).ToArray();

        var responses = await Task.WhenAll(batches.Select(b => App.Scoring.RecordViolationsAsync(b).ResponseAsync));

        Assert.Single(responses, r => r.Results[0].Error is null);
        Assert.All(responses.Where(r => r.Results[0].Error is not null), r => Assert.Equal((int)Google.Rpc.Code.AlreadyExists, r.Results[0].Error.Code));
        Assert.All(responses, r => Assert.False(r.Results[1].Duplicate));
        Assert.All(responses, r => Assert.Null(r.Results[1].Error));
        var winner = responses.Single(r => r.Results[0].Error is null).Results[0].Violation.UserId;
        var scores = await App.Scoring.GetScoresAsync(new GetScoresRequest { UserIds = { batches.Select(b => b.Violations[0].UserId) } });
        Assert.Equal(1, scores.Scores.Sum(s => s.ActiveViolations));
        Assert.Equal(1, scores.Scores.Single(s => s.UserId == winner).ActiveViolations);
    }

    [Fact]
    public async Task Single_records_arriving_together_each_count_once_and_a_repeat_replays()
    {
        var users = Enumerable.Range(0, 10).Select(_ => NewUserId()).ToArray();
        var requests = users.SelectMany(user => Enumerable.Range(0, 3).Select(_ => Violation(user, "spam", Severity.Low))).ToList();
        var repeated = Violation(users[0], "spam", Severity.Low);

        var calls = requests.Append(repeated).Append(repeated).Select(r => App.Scoring.RecordViolationAsync(r).ResponseAsync);
        var responses = await Task.WhenAll(calls);

        var pair = responses[^2..];
        Assert.Equal(1, pair.Count(r => r.Duplicate));
        Assert.Equal(pair[0].Violation.ViolationId, pair[1].Violation.ViolationId);
        Assert.All(responses, r => Assert.True(r.Score.ActiveViolations >= 1));
        var scores = await App.Scoring.GetScoresAsync(new GetScoresRequest { UserIds = { users } });
        Assert.Equal([4, .. Enumerable.Repeat(3, 9)], scores.Scores.Select(s => s.ActiveViolations));
    }

    [Fact]
    public async Task Two_records_of_one_event_with_different_payloads_at_once_record_one_and_refuse_the_other()
    {
        var first = Violation(NewUserId());
        var changed = first.Clone();
        changed.Note = "changed";

        var outcomes = await Task.WhenAll(new[] { first, changed }.Select(async request =>
        {
            try
            {
                await App.Scoring.RecordViolationAsync(request);
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        }));

        Assert.Equal([StatusCode.OK, StatusCode.AlreadyExists], outcomes.Order());
        Assert.Equal(1, (await App.Scoring.GetScoreAsync(new GetScoreRequest { UserId = first.UserId })).ActiveViolations);
    }
}

public sealed class PostgresRedisBatchTests(PostgresRedisBackend backend) : BatchTests(backend), IClassFixture<PostgresRedisBackend>;

public sealed class SqliteBatchTests(SqliteBackend backend) : BatchTests(backend), IClassFixture<SqliteBackend>;
public sealed class PgBouncerBatchTests(PgBouncerBackend backend) : BatchTests(backend), IClassFixture<PgBouncerBackend>;
public sealed class RedisClusterBatchTests(RedisClusterBackend backend) : BatchTests(backend), IClassFixture<RedisClusterBackend>;
