using Microsoft.EntityFrameworkCore;
using Npgsql;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;
using Scoring.Api.Tests.Infrastructure;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// Acknowledging cache marks (<see cref="ScoreStateQueries.AcknowledgeCachedAsync"/>): a mark goes only
/// once the cache holds its version, and on PostgreSQL a mark a writer holds is passed over, not waited
/// for. On a database of its own, with no service running, so no sweep touches the marks meanwhile.
/// </summary>
public sealed class CacheMarkTests(TestServers servers)
{
    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task An_acknowledgement_deletes_the_marks_the_cache_holds_and_keeps_newer_ones(DatabaseProvider provider)
    {
        var directory = Directory.CreateTempSubdirectory("scoring-marks-").FullName;
        try
        {
            await using var db = await MigratedAsync(provider, provider == DatabaseProvider.Postgres
                ? await servers.Postgres.CreateDatabaseAsync()
                : $"Data Source={Path.Combine(directory, "scoring.db")}");
            var (synced, newer, untouched) = (NewUserId(), NewUserId(), NewUserId());
            await MarkAsync(db, (synced, 3), (newer, 5), (untouched, 1));

            // The cache holds the first user's version 3 (or a later one), and only version 4 of the second.
            await db.AcknowledgeCachedAsync([(synced, 4), (newer, 4)], TestContext.Current.CancellationToken);

            Assert.Equal(new[] { (newer, 5L), (untouched, 1L) }.Order(), await MarksAsync(db));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task An_acknowledgement_passes_over_a_mark_a_writer_holds_and_a_later_one_deletes_it()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var db = await MigratedAsync(DatabaseProvider.Postgres, database);
        var (held, free) = (NewUserId(), NewUserId());
        await MarkAsync(db, (held, 2), (free, 2));

        // A writer's lock statement holds the mark's row until its transaction ends.
        await using var writer = new NpgsqlConnection(database);
        await writer.OpenAsync(TestContext.Current.CancellationToken);
        await using (var transaction = await writer.BeginTransactionAsync(TestContext.Current.CancellationToken))
        {
            await using var hold = new NpgsqlCommand("SELECT version FROM score_cache_repairs WHERE user_id = $1 FOR UPDATE", writer, transaction)
            {
                Parameters = { new() { Value = held } },
            };
            await hold.ExecuteScalarAsync(TestContext.Current.CancellationToken);

            // Returns without waiting for the writer: a wait would not end before the transaction does.
            await db.AcknowledgeCachedAsync([(held, 2), (free, 2)], TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

            Assert.Equal([(held, 2L)], await MarksAsync(db));
            await transaction.CommitAsync(TestContext.Current.CancellationToken);
        }

        await db.AcknowledgeCachedAsync([(held, 2)], TestContext.Current.CancellationToken);
        Assert.Empty(await MarksAsync(db));
    }

    private static async Task<ScoringDbContext> MigratedAsync(DatabaseProvider provider, string connectionString)
    {
        var db = ScoringContexts.Create(provider, connectionString);
        await db.Database.MigrateAsync(TestContext.Current.CancellationToken);
        return db;
    }

    private static async Task MarkAsync(ScoringDbContext db, params (string UserId, long Version)[] marks)
    {
        foreach (var (userId, version) in marks)
        {
            await db.Database.ExecuteSqlAsync(
                $"INSERT INTO score_cache_repairs (user_id, version) VALUES ({userId}, {version})", TestContext.Current.CancellationToken);
        }
    }

    private static async Task<List<(string, long)>> MarksAsync(ScoringDbContext db) =>
        [.. (await db.ScoreCacheRepairs.AsNoTracking().ToListAsync(TestContext.Current.CancellationToken))
            .Select(r => (r.UserId, r.Version)).Order()];
}
