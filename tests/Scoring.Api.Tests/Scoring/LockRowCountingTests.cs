using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;
using Scoring.Api.Tests.Infrastructure;
using Scoring.Domain;
using Scoring.Domain.Scores;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;
using Severity = Scoring.V1.Severity;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// The copy of a user's counting violations each write leaves on the user's lock row
/// (<see cref="CountingSnapshot"/>), which the next write and a cache miss use instead of reading the
/// violations, but only when nothing can have changed since. To see which one a score came from, these
/// tests change the violations table behind the service's back: a violation deleted without its user's
/// lock is still counted by a score taken from the copy, and one added with a raised version (as an
/// older release's write would) must be counted.
/// </summary>
public sealed class LockRowCountingTests(TestServers servers) : IAsyncDisposable
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private readonly string _directory = Directory.CreateTempSubdirectory("scoring-counting-").FullName;

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task A_write_scores_from_the_copy_its_users_last_write_left(DatabaseProvider provider)
    {
        var (app, database) = await StartAsync(provider);
        using var _ = app;
        var user = NewUserId();
        var first = await RecordAsync(app, user);
        await RecordAsync(app, user);

        await DeleteUnlockedAsync(provider, database, first.Violation);
        var third = await RecordAsync(app, user);

        // The second write's copy still holds the deleted one: the third write did not read the violations.
        Assert.Equal(3, third.Score.ActiveViolations);
    }

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task Every_sixteenth_write_of_a_user_reads_the_violations_whatever_its_copy_says(DatabaseProvider provider)
    {
        var (app, database) = await StartAsync(provider);
        using var _ = app;
        var user = NewUserId();
        var first = await RecordAsync(app, user);
        await DeleteUnlockedAsync(provider, database, first.Violation);

        // Versions 2 to 15 carry the copy forward; version 16 reads the table, without the deleted one.
        var counted = new List<int>();
        for (var version = 2; version <= CountingSnapshot.ReadEvery; version++)
        {
            counted.Add((await RecordAsync(app, user)).Score.ActiveViolations);
        }

        Assert.Equal(Enumerable.Range(2, CountingSnapshot.ReadEvery - 2), counted[..^1]);
        Assert.Equal(CountingSnapshot.ReadEvery - 1, counted[^1]);
    }

    [Fact]
    public async Task The_copy_follows_changes_other_than_records_and_an_erasure_leaves_nothing_in_it()
    {
        var (app, database) = await StartAsync(DatabaseProvider.Postgres);
        using var _ = app;
        var user = NewUserId();
        var first = await RecordAsync(app, user);
        await app.Appeals.SubmitAppealAsync(new SubmitAppealRequest
        {
            ViolationId = first.Violation.ViolationId, UserId = user, Statement = "Quoted to criticise it.",
        }, cancellationToken: Token);

        // Scored from the copy the appeal's write left: the violation under appeal is contested.
        var next = await RecordAsync(app, user);
        Assert.True(next.Score.Contested);
        Assert.Equal(2, next.Score.ActiveViolations);

        await app.Privacy.EraseUserAsync(new EraseUserRequest { UserId = user, Reason = "gdpr_art17_request" }, cancellationToken: Token);
        await using var db = ScoringContexts.Create(DatabaseProvider.Postgres, database);
        var row = await db.UserScoreVersions.AsNoTracking().SingleAsync(r => r.UserId == user, Token);
        Assert.Empty(CountingSnapshot.Decode(row.Counting)!.Violations);
    }

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task A_copy_left_before_a_write_that_kept_none_is_not_used(DatabaseProvider provider)
    {
        var (app, database) = await StartAsync(provider);
        using var _ = app;
        var user = NewUserId();
        await RecordAsync(app, user);

        // A write that keeps no copy (an older release, during a rolling upgrade) still raises the version.
        await ExecuteAsync(provider, database, OlderReleaseWrite(user));
        var next = await RecordAsync(app, user);

        Assert.Equal(3, next.Score.ActiveViolations);
    }

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task A_cache_miss_is_answered_from_the_copy_of_the_rows_version_and_only_from_it(DatabaseProvider provider)
    {
        var (app, database) = await StartAsync(provider);
        using var _ = app;
        var (kept, moved) = (NewUserId(), NewUserId());
        var first = await RecordAsync(app, kept);
        await RecordAsync(app, kept);
        await RecordAsync(app, moved);
        await DeleteUnlockedAsync(provider, database, first.Violation);
        await ExecuteAsync(provider, database, OlderReleaseWrite(moved));

        // Another replica, whose cache holds neither user.
        using var other = provider == DatabaseProvider.Postgres
            ? ScoringApp.OnPostgres(database, redis: null)
            : ScoringApp.OnSqlite(Path.Combine(_directory, "scoring.db"));
        var scores = await other.Scoring.GetScoresAsync(new GetScoresRequest { UserIds = { kept, moved } }, cancellationToken: Token);

        Assert.Equal(2, scores.Scores.Single(s => s.UserId == kept).ActiveViolations);
        Assert.Equal(2, scores.Scores.Single(s => s.UserId == moved).ActiveViolations);
    }

    [Theory]
    [InlineData("policy")]
    [InlineData("instant")]
    public async Task A_copy_of_another_policy_or_of_a_later_instant_is_not_used(string mismatch)
    {
        var (app, database) = await StartAsync(DatabaseProvider.Postgres);
        using var _ = app;
        var user = NewUserId();
        await RecordAsync(app, user);
        await RecordAsync(app, user);

        // The copy rewritten as one of the right version that lacks a violation, under another policy or
        // taken after now: used, it would drop that violation from the next score.
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
            var row = await db.UserScoreVersions.AsNoTracking().SingleAsync(r => r.UserId == user, Token);
            var copy = CountingSnapshot.Decode(row.Counting)!;
            Assert.Equal(row.Version, copy.Version);
            var rewritten = CountingSnapshot.Encode(
                copy.Version,
                mismatch == "instant" ? app.Time.GetUtcNow().AddMinutes(1) : copy.At,
                mismatch == "policy" ? copy.PolicyVersion + "-other" : copy.PolicyVersion,
                [.. copy.Violations.Skip(1)]);
            await db.Database.ExecuteSqlAsync($"UPDATE user_score_versions SET counting = {rewritten} WHERE user_id = {user}", Token);
        }

        var next = await RecordAsync(app, user);

        Assert.Equal(3, next.Score.ActiveViolations);
    }

    [Fact]
    public void A_copy_reads_back_as_written_and_damaged_or_oversized_ones_as_none()
    {
        var at = new DateTimeOffset(2026, 12, 8, 3, 0, 0, TimeSpan.Zero);
        ScoredViolation[] violations =
        [
            new(Guid.CreateVersion7(at).ToString(), "spam", Domain.Severity.High, at.AddDays(-2)),
            new("legacy-id-Ω", "hate_speech", Domain.Severity.Critical, at.AddHours(-1), Contested: true),
            // Upper case: not the text a GUID formats to, so kept as text (and read back the same).
            new(Guid.NewGuid().ToString().ToUpperInvariant(), "spam", Domain.Severity.Low, at.AddTicks(-1)),
        ];

        var bytes = CountingSnapshot.Encode(7, at, "2026-12-01.3", violations)!;
        var copy = CountingSnapshot.Decode(bytes)!;

        Assert.Equal((7L, at, "2026-12-01.3"), (copy.Version, copy.At, copy.PolicyVersion));
        Assert.Equal(violations, copy.Violations);
        Assert.Null(CountingSnapshot.Decode(bytes[..^1]));
        Assert.Null(CountingSnapshot.Decode([.. bytes, 0]));
        Assert.Null(CountingSnapshot.Decode([(byte)(bytes[0] + 1), .. bytes[1..]]));
        Assert.Null(CountingSnapshot.Decode(null));
        // An instant out of range (the first violation's, 8 bytes before its contested flag's byte ends the
        // 10-byte tail of the first violation), and a severity that does not exist: none, not an exception.
        var tail = bytes.AsSpan().IndexOf("spam"u8) + 4;
        Assert.Null(CountingSnapshot.Decode([.. bytes[..(tail + 1)], .. BitConverter.GetBytes(long.MaxValue), .. bytes[(tail + 9)..]]));
        Assert.Null(CountingSnapshot.Decode([.. bytes[..tail], 99, .. bytes[(tail + 1)..]]));

        // As many as fit in MaxBytes are kept, one more is not.
        var header = CountingSnapshot.Encode(7, at, "p", [])!.Length;
        var fit = (CountingSnapshot.MaxBytes - header) / (CountingSnapshot.Encode(7, at, "p", [violations[0]])!.Length - header);
        Assert.NotNull(CountingSnapshot.Encode(7, at, "p", [.. Enumerable.Repeat(violations[0], fit)]));
        Assert.Null(CountingSnapshot.Encode(7, at, "p", [.. Enumerable.Repeat(violations[0], fit + 1)]));
    }

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private async Task<(ScoringApp App, string Database)> StartAsync(DatabaseProvider provider)
    {
        var database = provider == DatabaseProvider.Postgres
            ? await servers.Postgres.CreateDatabaseAsync()
            : $"Data Source={Path.Combine(_directory, "scoring.db")}";
        var app = provider == DatabaseProvider.Postgres
            ? ScoringApp.OnPostgres(database, redis: null)
            : ScoringApp.OnSqlite(Path.Combine(_directory, "scoring.db"));
        _ = app.Server;
        return (app, database);
    }

    /// <summary>
    /// What a write of a release that keeps no copy does: a violation (here a copy of one of the user's,
    /// under a new event), and the version raised.
    /// </summary>
    private static string OlderReleaseWrite(string user)
    {
        const string Columns = """
            user_id, category, severity, base_points, occurred_at, recorded_at, automated, status, appealable_until,
            account_decision, appeal_state, decision_ground, reported_severity
            """;
        return $"""
            INSERT INTO violations (id, source, event_id, {Columns})
            SELECT '{Guid.NewGuid()}', 'older', 'e-{Guid.NewGuid():N}', {Columns} FROM violations WHERE user_id = '{user}' LIMIT 1;
            UPDATE user_score_versions SET version = version + 1 WHERE user_id = '{user}'
            """;
    }

    private static async Task<RecordViolationResponse> RecordAsync(ScoringApp app, string user) =>
        await app.Scoring.RecordViolationAsync(Violation(user), cancellationToken: Token);

    /// <summary>Deletes a violation without its user's lock or version: only a read of the table sees it gone.</summary>
    private static Task DeleteUnlockedAsync(DatabaseProvider provider, string database, V1.Violation violation) =>
        ExecuteAsync(provider, database, $"DELETE FROM violations WHERE id = '{violation.ViolationId}'");

    private static async Task ExecuteAsync(DatabaseProvider provider, string database, string sql)
    {
        await using var db = ScoringContexts.Create(provider, database);
        await db.Database.ExecuteSqlRawAsync(sql, Token);
    }
}
