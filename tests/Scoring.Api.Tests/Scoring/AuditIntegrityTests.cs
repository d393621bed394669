using Grpc.Core;
using Npgsql;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>Exactly-one decisions across servers, and an audit trail that resists and reveals tampering, on real PostgreSQL.</summary>
public sealed class AuditIntegrityTests(TestServers servers)
{
    private static async Task<Appeal> AppealedViolationAsync(ScoringApp app)
    {
        var request = Violation(NewUserId(), "hate_speech", Severity.High);
        request.DecidedBy = "mod-7";
        var violation = (await app.Scoring.RecordViolationAsync(request)).Violation;
        return await app.Appeals.SubmitAppealAsync(new SubmitAppealRequest
        {
            ViolationId = violation.ViolationId,
            UserId = violation.UserId,
            Statement = "Quoted to criticise it.",
        });
    }

    [Fact]
    public async Task Two_reviewers_deciding_at_once_on_two_servers_end_with_exactly_one_decision()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var first = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        using var second = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString, first.Time);

        for (var round = 0; round < 5; round++)
        {
            var appeal = await AppealedViolationAsync(first);
            var overturn = Decide(first, appeal, "rev-1", AppealDecision.Overturn);
            var uphold = Decide(second, appeal, "rev-2", AppealDecision.Uphold);
            var outcomes = await Task.WhenAll(overturn, uphold);

            var winners = outcomes.Where(o => o.Response is not null).ToList();
            var winner = Assert.Single(winners).Response!;
            Assert.Equal(StatusCode.FailedPrecondition, Assert.Single(outcomes, o => o.Response is null).Error);

            var stored = await second.Appeals.GetAppealAsync(new GetAppealRequest { AppealId = appeal.AppealId });
            Assert.Equal((winner.Appeal.State, winner.Appeal.DecidedBy), (stored.State, stored.DecidedBy));
            var decisions = (await first.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { TargetId = appeal.AppealId })).Entries
                .Count(e => e.Action == "appeal.decided");
            Assert.Equal(1, decisions);

            var expectedPoints = winner.Appeal.State == AppealState.Overturned ? 0 : 60;
            Assert.Equal(expectedPoints, (await first.Scoring.GetScoreAsync(new GetScoreRequest { UserId = appeal.UserId })).Points, 1e-9);
            Assert.Equal(expectedPoints, (await second.Scoring.GetScoreAsync(new GetScoreRequest { UserId = appeal.UserId })).Points, 1e-9);
        }
    }

    private static async Task<(DecideAppealResponse? Response, StatusCode? Error)> Decide(
        ScoringApp app, Appeal appeal, string reviewer, AppealDecision decision)
    {
        try
        {
            return (await app.Appeals.DecideAppealAsync(new DecideAppealRequest
            {
                AppealId = appeal.AppealId,
                ReviewerId = reviewer,
                Decision = decision,
                Rationale = "Reviewed.",
            }), null);
        }
        catch (RpcException e)
        {
            return (null, e.StatusCode);
        }
    }

    [Fact]
    public async Task An_edited_entry_is_reported_as_the_first_broken_sequence()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var appeal = await AppealedViolationAsync(app);
        await app.Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1" });
        await Decide(app, appeal, "rev-1", AppealDecision.Uphold);
        Assert.True((await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = appeal.UserId })).Valid);

        // Someone with superuser rights bypasses the trigger and softens the decision on entry 4.
        await TamperAsync(database, appeal.UserId, "UPDATE audit_entries SET reason = 'overturn' WHERE user_id = @user AND sequence = 4;");

        var verified = await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = appeal.UserId });

        Assert.Equal((false, 4L, 4L), (verified.Valid, verified.EntriesChecked, verified.FirstBrokenSequence));
    }

    [Fact]
    public async Task A_deleted_entry_is_reported_where_the_chain_breaks()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var appeal = await AppealedViolationAsync(app);
        await app.Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1" });

        await TamperAsync(database, appeal.UserId, "DELETE FROM audit_entries WHERE user_id = @user AND sequence = 2;");

        var verified = await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = appeal.UserId });

        Assert.Equal((false, 2L), (verified.Valid, verified.FirstBrokenSequence));
    }

    /// <summary>Runs SQL as a superuser who has switched triggers off for the session.</summary>
    private static async Task TamperAsync(string database, string userId, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand("SET session_replication_role = replica; " + sql, connection);
        command.Parameters.AddWithValue("user", userId);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData("UPDATE audit_entries SET reason = 'x'")]
    [InlineData("DELETE FROM audit_entries")]
    [InlineData("TRUNCATE audit_entries")]
    public async Task PostgreSQL_refuses_to_update_or_delete_audit_entries(string statement)
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var appeal = await AppealedViolationAsync(app);

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(statement, connection);
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));

        Assert.Contains("append-only", error.MessageText, StringComparison.Ordinal);
        Assert.True((await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = appeal.UserId })).Valid);
    }

    [Theory]
    [InlineData("UPDATE audit_entries SET reason = 'x'")]
    [InlineData("DELETE FROM audit_entries")]
    public async Task SQLite_refuses_to_update_or_delete_audit_entries_too(string statement)
    {
        var directory = Directory.CreateTempSubdirectory("scoring-sqlite-").FullName;
        var file = Path.Combine(directory, "scoring.db");
        using (var app = ScoringApp.OnSqlite(file))
        {
            await AppealedViolationAsync(app);
        }

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file}");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = statement;
        var error = await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));

        Assert.Contains("append-only", error.Message, StringComparison.Ordinal);
        await connection.CloseAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }
}
