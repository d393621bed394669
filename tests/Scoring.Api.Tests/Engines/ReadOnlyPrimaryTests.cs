using Grpc.Core;
using Npgsql;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Engines;

/// <summary>
/// In a planned switchover the old primary stays up as a standby: a pooled connection to it refuses
/// writes (SQLSTATE 25006). That is the database moving, not a bug: the call answers UNAVAILABLE, the
/// service drops its pooled connections to that server, and the caller's retry opens a new one.
/// </summary>
public sealed class ReadOnlyPrimaryTests(TestServers servers)
{
    [Fact]
    public async Task A_write_refused_by_a_server_turned_read_only_answers_UNAVAILABLE_and_the_retry_gets_a_new_connection()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var userId = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(userId), cancellationToken: TestContext.Current.CancellationToken);

        await servers.Postgres.AlterDatabaseAsync(database, "default_transaction_read_only = on");
        // New sessions take the setting, as connections to a demoted primary refuse writes.
        NpgsqlConnection.ClearAllPools();
        var refused = await Assert.ThrowsAsync<RpcException>(() => app.Scoring.RecordViolationAsync(Violation(userId)).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);

        // The server takes writes again (as the new primary would); the pooled connections still carry
        // their read-only sessions, so only a cleared pool lets the retry through.
        await servers.Postgres.AlterDatabaseAsync(database, "default_transaction_read_only = off");
        var retried = await app.Scoring.RecordViolationAsync(Violation(userId));
        Assert.Equal(2, retried.Score.ActiveViolations);
    }
}
