using Grpc.Core;
using Npgsql;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Engines;

/// <summary>
/// An operator may bound lock waits (<c>lock_timeout</c> on the role or database). A write that waits
/// past it is refused by PostgreSQL with SQLSTATE 55P03, one of the errors a retry clears (as are the
/// "object in use" and I/O errors a server being promoted can answer): the call answers UNAVAILABLE, not
/// INTERNAL, and the retry once the lock is free records the violation once.
/// </summary>
public sealed class LockTimeoutTests(TestServers servers)
{
    [Fact]
    public async Task A_write_that_waits_past_the_lock_timeout_answers_UNAVAILABLE_and_its_retry_is_recorded_once()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var userId = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(userId), cancellationToken: TestContext.Current.CancellationToken);

        await servers.Postgres.AlterDatabaseAsync(database, "lock_timeout = '200ms'");
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
