using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Engines;

/// <summary>
/// A pooled connection can become unable to do the work while the database is fine: in a planned
/// switchover the old primary stays up as a standby and refuses writes (SQLSTATE 25006); and Npgsql's
/// record of the statements it prepared on a connection can drift from the server's (seen in the fault
/// suite after PostgreSQL restarted under load), after which every command using such a statement fails
/// on that connection (26000 or 42P05); and a migration run by a newer release in a rolling upgrade can
/// change the shape of a prepared statement's result (0A000). None is a bug of the call: it answers
/// UNAVAILABLE, the service drops its pooled connections, and the caller's retry opens a new one.
/// </summary>
public sealed class UnusableConnectionTests(TestServers servers)
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

    [Fact]
    public async Task A_connection_whose_prepared_statements_drifted_from_the_servers_answers_UNAVAILABLE_once_and_is_dropped()
    {
        // One pooled connection: every command, the calls' and the background work's, runs on the drifted one.
        var database = await servers.Postgres.CreateDatabaseAsync() + ";Maximum Pool Size=1";
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var userId = NewUserId();
        Assert.True(await RecordThreeAndCountPreparedAsync(app, userId, "") > 0, "the writes prepared their statements");

        using (var scope = app.Services.CreateScope())
        {
            // The server forgets the connection's prepared statements; Npgsql still holds them as prepared.
            var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
            await db.Database.ExecuteSqlRawAsync("DO $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$", TestContext.Current.CancellationToken);
        }

        // The next command to use a prepared statement fails, whether it is this call's or background
        // work's (the feed reader, the cache sweep).
        await AssertRefusedAtMostOnceThenServedAsync(app, userId, 3, "26000: prepared statement");
    }

    [Fact]
    public async Task A_schema_change_under_the_prepared_statements_answers_UNAVAILABLE_at_most_once_and_the_retry_records_once()
    {
        // A rolling upgrade: a newer release migrates the database while this replica's pooled connection
        // holds its statements prepared. One connection, so the write's own command is sure to meet the
        // change, with room for every statement the service prepares (as the service's own settings, but
        // none evicted to make room for another).
        var database = await servers.Postgres.CreateDatabaseAsync()
            + ";Maximum Pool Size=1;Max Auto Prepare=500;Auto Prepare Min Usages=2;No Reset On Close=true";
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var userId = NewUserId();
        Assert.True(await RecordThreeAndCountPreparedAsync(app, userId, "INSERT INTO user_score_versions") > 0, "the writes prepared their lock statement");

        // Columns added to the lock rows and to violations change nothing the service's statements return:
        // no call notices.
        await MigrateAsync(database, "ALTER TABLE user_score_versions ADD COLUMN added_by_a_newer_release integer");
        await MigrateAsync(database, "ALTER TABLE violations ADD COLUMN added_by_a_newer_release integer");
        Assert.Equal(4, (await app.Scoring.RecordViolationAsync(Violation(userId), cancellationToken: TestContext.Current.CancellationToken)).Score.ActiveViolations);

        // A returned column's type changed (a bound widened): PostgreSQL refuses the prepared statement
        // whose result changed shape (0A000, "cached plan must not change result type").
        await MigrateAsync(database, "ALTER TABLE user_score_versions ALTER COLUMN audit_hash TYPE character varying(128)");
        await AssertRefusedAtMostOnceThenServedAsync(app, userId, 4, "0A000: cached plan must not change result type");
    }

    /// <summary>
    /// Records three violations of <paramref name="userId"/> (each statement of a write is prepared
    /// automatically from its second use on) and counts the statements the pooled connection holds
    /// prepared whose text contains <paramref name="text"/>.
    /// </summary>
    private static async Task<long> RecordThreeAndCountPreparedAsync(ScoringApp app, string userId, string text)
    {
        for (var i = 0; i < 3; i++)
        {
            await app.Scoring.RecordViolationAsync(Violation(userId), cancellationToken: TestContext.Current.CancellationToken);
        }

        using var scope = app.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
        return await db.Database.SqlQuery<long>(
            $"SELECT count(*) AS \"Value\" FROM pg_prepared_statements WHERE strpos(statement, {text}) > 0")
            .SingleAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Runs <paramref name="ddl"/> from a connection of its own (another pool), as a newer release's migrate Job would.</summary>
    private static async Task MigrateAsync(string database, string ddl)
    {
        await using var migration = new NpgsqlConnection(database + ";Application Name=migrate");
        await migration.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(ddl, migration);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// After <paramref name="recorded"/> violations of <paramref name="userId"/>: the next report meets the unusable
    /// connection (its own command does, or background work did first and the pool is already dropped), so
    /// it answers UNAVAILABLE at most once and never another error; its retry with the same event id
    /// records it once; the log shows <paramref name="logged"/>; and every call after runs on a new connection.
    /// </summary>
    private static async Task AssertRefusedAtMostOnceThenServedAsync(ScoringApp app, string userId, int recorded, string logged)
    {
        var report = Violation(userId);
        var refused = 0;
        RecordViolationResponse? answer = null;
        while (answer is null && refused < 3)
        {
            try
            {
                answer = await app.Scoring.RecordViolationAsync(report, cancellationToken: TestContext.Current.CancellationToken);
            }
            catch (RpcException exception)
            {
                Assert.Equal(StatusCode.Unavailable, exception.StatusCode);
                refused++;
            }
        }

        Assert.InRange(refused, 0, 1);
        Assert.Equal(recorded + 1, answer?.Score.ActiveViolations);
        Assert.Contains(app.Logs.Entries, e => e.Exception?.ToString().Contains(logged, StringComparison.Ordinal) == true);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(recorded + 2 + i, (await app.Scoring.RecordViolationAsync(Violation(userId))).Score.ActiveViolations);
        }
    }
}
