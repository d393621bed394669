using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;
using Scoring.Api.Tests.Infrastructure;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// The hand-written parts of migrations: WritePathSync, on both providers (data written by the release
/// before it, audit chains, lock rows without heads, a user erased with its lock row deleted, comes out
/// with every chain's head on a lock row); ViolationOccurredIndex's concurrent build, run again after it
/// stopped partway.
/// </summary>
public sealed class MigrationBackfillTests(TestServers servers)
{
    private static readonly DateTimeOffset First = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task Lock_rows_learn_where_their_chains_continue_and_erased_users_get_one_back(DatabaseProvider provider)
    {
        var directory = Directory.CreateTempSubdirectory("scoring-migration-");
        try
        {
            await using var db = provider == DatabaseProvider.Postgres
                ? Context(provider, await servers.Postgres.CreateDatabaseAsync())
                : Context(provider, $"Data Source={Path.Combine(directory.FullName, "scoring.db")}");
            var migrator = db.GetService<IMigrator>();
            var before = db.Database.GetMigrations().Single(m => m.EndsWith("_AuditKeyId", StringComparison.Ordinal));
            await migrator.MigrateAsync(before, TestContext.Current.CancellationToken);

            // u-kept: two entries and its lock row; u-erased: an erasure entry and no lock row (as erasures left it).
            await InsertEntryAsync(db, provider, "u-kept", 1, "h1", null, First);
            await InsertEntryAsync(db, provider, "u-kept", 2, "h2", "h1", First.AddHours(1));
            await InsertEntryAsync(db, provider, "u-erased", 1, "e1", null, First.AddHours(2));
            await db.Database.ExecuteSqlRawAsync("INSERT INTO user_score_versions (user_id, version) VALUES ('u-kept', 2)", TestContext.Current.CancellationToken);

            await migrator.MigrateAsync(cancellationToken: TestContext.Current.CancellationToken);

            var rows = await db.UserScoreVersions.AsNoTracking().OrderBy(u => u.UserId).ToListAsync(TestContext.Current.CancellationToken);
            Assert.Equal(
                [("u-erased", 0L, 1L, "e1", First.AddHours(2)), ("u-kept", 2L, 2L, "h2", First.AddHours(1))],
                rows.Select(r => (r.UserId, r.Version, r.AuditSequence, r.AuditHash!, r.AuditAt!.Value)));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task Users_written_before_the_feed_are_left_unrecorded_and_due_for_the_scan(DatabaseProvider provider)
    {
        var directory = Directory.CreateTempSubdirectory("scoring-migration-");
        try
        {
            await using var db = provider == DatabaseProvider.Postgres
                ? Context(provider, await servers.Postgres.CreateDatabaseAsync())
                : Context(provider, $"Data Source={Path.Combine(directory.FullName, "scoring.db")}");
            var migrator = db.GetService<IMigrator>();
            var before = db.Database.GetMigrations().Single(m => m.EndsWith("_WritePathSync", StringComparison.Ordinal));
            await migrator.MigrateAsync(before, TestContext.Current.CancellationToken);
            await db.Database.ExecuteSqlRawAsync("INSERT INTO user_score_versions (user_id, version, audit_sequence) VALUES ('u-old', 3, 0)", TestContext.Current.CancellationToken);

            await migrator.MigrateAsync(cancellationToken: TestContext.Current.CancellationToken);
            await db.Database.ExecuteSqlRawAsync("INSERT INTO user_score_versions (user_id, version, audit_sequence) VALUES ('u-new', 1, 0)", TestContext.Current.CancellationToken);

            var rows = await db.UserScoreVersions.AsNoTracking().OrderBy(u => u.UserId).ToListAsync(TestContext.Current.CancellationToken);
            var due = await db.StandingDrops.AsNoTracking().ToListAsync(TestContext.Current.CancellationToken);
            Assert.Equal([("u-new", Domain.Standing.Good), ("u-old", Domain.Standing.Unspecified)], rows.Select(r => (r.UserId, r.Standing)));
            var old = Assert.Single(due);
            Assert.Equal("u-old", old.UserId);
            Assert.True(old.DueAt < First);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("_ViolationOccurredIndex", "ix_violations_occurred_at", false)]
    [InlineData("_ViolationOccurredIndex", "ix_violations_occurred_at", true)]
    [InlineData("_ViolationCriticalIndex", "ix_violations_user_critical", false)]
    [InlineData("_ViolationCriticalIndex", "ix_violations_user_critical", true)]
    public async Task A_violation_index_build_that_stopped_partway_is_finished_by_running_migrate_again(string migrationName, string index, bool leftInvalid)
    {
        await using var db = Context(DatabaseProvider.Postgres, await servers.Postgres.CreateDatabaseAsync());
        await db.Database.MigrateAsync(TestContext.Current.CancellationToken);
        // The concurrent build runs outside a transaction. Stopped after the build but before EF recorded it,
        // the index is there and its migration is not in the history; stopped during the build, PostgreSQL
        // leaves the index invalid (never used by a plan).
        var migration = db.Database.GetMigrations().Single(m => m.EndsWith(migrationName, StringComparison.Ordinal));
        await db.Database.ExecuteSqlAsync($"DELETE FROM \"__EFMigrationsHistory\" WHERE migration_id = {migration}", TestContext.Current.CancellationToken);
        if (leftInvalid)
        {
            await db.Database.ExecuteSqlAsync(
                $"UPDATE pg_index SET indisvalid = false WHERE indexrelid = {index}::regclass", TestContext.Current.CancellationToken);
        }

        await db.Database.MigrateAsync(TestContext.Current.CancellationToken);

        Assert.Empty(await db.Database.GetPendingMigrationsAsync(TestContext.Current.CancellationToken));
        Assert.True(await db.Database.SqlQuery<bool>(
            $"SELECT indisvalid AS \"Value\" FROM pg_index WHERE indexrelid = {index}::regclass").SingleAsync(TestContext.Current.CancellationToken));
    }

    private static ScoringDbContext Context(DatabaseProvider provider, string connectionString) => ScoringContexts.Create(provider, connectionString);

    private static async Task InsertEntryAsync(
        ScoringDbContext db, DatabaseProvider provider, string userId, long sequence, string hash, string? previous, DateTimeOffset at)
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await db.Database.OpenConnectionAsync(TestContext.Current.CancellationToken);
        }

        await using var command = connection.CreateCommand();
        // PostgreSQL's append-only trigger only guards updates and deletes; SQLite keeps times as UTC ticks.
        command.CommandText = """
            INSERT INTO audit_entries (id, user_id, sequence, occurred_at, actor, action, target_id, reason, before_state, after_state,
              before_severity, after_severity, before_points, after_points, item_count, hash, previous_hash, key_id)
            VALUES (@id, @user, @sequence, @at, 'mod.queue', 'violation.recorded', @id, 'spam', NULL, 'active', 0, 2, 0, 40, 0, @hash, @previous, NULL)
            """;
        Add(command, "id", $"{userId}-{sequence}");
        Add(command, "user", userId);
        Add(command, "sequence", sequence);
        Add(command, "at", provider == DatabaseProvider.Postgres ? at : at.UtcTicks);
        Add(command, "hash", hash);
        Add(command, "previous", (object?)previous ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
