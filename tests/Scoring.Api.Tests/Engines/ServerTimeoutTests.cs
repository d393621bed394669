using Grpc.Core;
using Npgsql;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Engines;

/// <summary>
/// An operator may bound waits on the server (<c>lock_timeout</c> or <c>statement_timeout</c> on the role
/// or database). A write that waits past one is refused by PostgreSQL (SQLSTATE 55P03 or 57014; EF Core
/// wraps the first as a transient failure): the call answers UNAVAILABLE, not INTERNAL, and the retry
/// once the lock is free records the violation once.
/// </summary>
public sealed class ServerTimeoutTests(TestServers servers)
{
    [Theory]
    [InlineData("lock_timeout")]
    [InlineData("statement_timeout")]
    public async Task A_write_that_waits_past_a_server_timeout_answers_UNAVAILABLE_and_its_retry_is_recorded_once(string timeout)
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var userId = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(userId), cancellationToken: TestContext.Current.CancellationToken);

        await servers.Postgres.AlterDatabaseAsync(database, $"{timeout} = '1s'");
        // New sessions take the setting.
        NpgsqlConnection.ClearAllPools();

        var report = Violation(userId, "spam", Severity.Medium);
        await using (var holder = new NpgsqlConnection(database))
        {
            // Another session holds the user's lock row, as a long transaction would.
            await holder.OpenAsync(TestContext.Current.CancellationToken);
            await using var transaction = await holder.BeginTransactionAsync(TestContext.Current.CancellationToken);
            await using var lockRow = new NpgsqlCommand("SELECT version FROM user_score_versions WHERE user_id = @user FOR UPDATE", holder, transaction);
            lockRow.Parameters.AddWithValue("user", userId);
            Assert.NotNull(await lockRow.ExecuteScalarAsync(TestContext.Current.CancellationToken));

            var refused = await Assert.ThrowsAsync<RpcException>(() => app.Scoring.RecordViolationAsync(report).ResponseAsync);
            Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        }

        var retried = await app.Scoring.RecordViolationAsync(report);
        Assert.False(retried.Duplicate);
        Assert.Equal(2, retried.Score.ActiveViolations);
    }
}
