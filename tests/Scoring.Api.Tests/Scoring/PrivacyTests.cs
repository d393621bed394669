using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Scoring.Api.Features.Privacy;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using StackExchange.Redis;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>Access, erasure and retention, on real PostgreSQL and Redis.</summary>
public sealed class PrivacyTests(TestServers servers)
{
    private const string Note = "Posted the same scam link forty times";
    private const string Statement = "My account was hijacked that week.";

    private static async Task<(Violation Violation, Appeal Appeal)> AppealedAsync(ScoringApp app, string userId, DateTimeOffset? occurredAt = null)
    {
        var request = Violation(userId, "fraud", Severity.High, occurredAt);
        request.Note = Note;
        var violation = (await app.Scoring.RecordViolationAsync(request)).Violation;
        var appeal = await app.Appeals.SubmitAppealAsync(new SubmitAppealRequest { ViolationId = violation.ViolationId, UserId = userId, Statement = Statement });
        return (violation, appeal);
    }

    [Fact]
    public async Task An_export_holds_everything_about_the_user()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        var userId = NewUserId();
        var (first, appeal) = await AppealedAsync(app, userId);
        await app.Appeals.DecideAppealAsync(new DecideAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1", Decision = AppealDecision.Overturn, Rationale = "Hijacked." });
        app.Time.Advance(TimeSpan.FromMinutes(1));
        var second = (await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium))).Violation;

        var export = await app.Privacy.ExportUserDataAsync(new ExportUserDataRequest { UserId = userId });

        Assert.Equal(userId, export.UserId);
        Assert.Equal([second.ViolationId, first.ViolationId], export.Violations.Select(v => v.ViolationId));
        Assert.Equal(ViolationStatus.Overturned, export.Violations[1].Status);
        Assert.Equal(Note, export.Violations[1].Note);
        Assert.Equal((appeal.AppealId, Statement), (export.Appeals.Single().AppealId, export.Appeals.Single().Statement));
        Assert.Equal((15.0, 1), (export.Score.Points, export.Score.Breakdown.Count));
        Assert.Equal(["violation.recorded", "appeal.submitted", "appeal.decided", "violation.recorded"], export.AuditEntries.Select(e => e.Action));
        Assert.Equal(
            [(Standing.Good, Standing.Restricted), (Standing.Restricted, Standing.Good), (Standing.Good, Standing.Warned)],
            export.StandingChanges.Select(c => (c.PreviousStanding, c.Standing)));
    }

    [Fact]
    public async Task After_an_erasure_nothing_but_the_audit_trail_and_its_lock_row_mentions_the_user_and_the_chain_still_verifies()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var userId = NewUserId();
        await AppealedAsync(app, userId);
        await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Low));
        Assert.Equal(Standing.Restricted, (await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).Standing);

        var erased = await app.Privacy.EraseUserAsync(new EraseUserRequest { UserId = userId, Reason = "gdpr_art17_request" });

        Assert.Equal((userId, 2, 1), (erased.UserId, erased.ViolationsErased, erased.AppealsErased));
        Assert.Equal(0, await RowsMentioningAsync(database, userId, "violations", "appeals"));
        // The lock row stays, as the audit trail does, so versions keep growing across the erasure.
        Assert.Equal(1, await RowsMentioningAsync(database, userId, "user_score_versions"));
        Assert.Equal(0, await RedisKeysMentioningAsync(userId));

        var entries = (await app.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { UserId = userId })).Entries;
        var erasure = entries[^1];
        Assert.Equal(("user.erased", "gdpr_art17_request", 3L), (erasure.Action, erasure.Reason, erasure.ItemCount));
        Assert.DoesNotContain(entries, e => e.ToString().Contains("scam", StringComparison.Ordinal) || e.ToString().Contains("hijacked", StringComparison.Ordinal));
        Assert.True((await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = userId })).Valid);

        var score = await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId });
        Assert.Equal((0.0, Standing.Good, 0, false), (score.Points, score.Standing, score.ActiveViolations, score.Contested));
        Assert.Empty((await app.Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = userId, IncludeInactive = true })).Violations);
        Assert.Equal(0, await RedisKeysMentioningAsync(userId));

        // The user starts afresh, and the cache does not resurrect what was erased.
        var again = await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Medium));
        Assert.Equal((15.0, 1), (again.Score.Points, again.Score.ActiveViolations));
        Assert.Equal(15.0, (await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).Points, 1e-9);
    }

    [Fact]
    public async Task Retention_purges_only_what_is_past_it_in_bounded_batches_and_audits_each_user_once()
    {
        using var app = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
            ["ConnectionStrings:Redis"] = servers.Redis.ConnectionString,
            ["Scoring:RetentionBatchSize"] = "2",
        });
        var userId = NewUserId();
        var t0 = app.Time.GetUtcNow();
        var (old, _) = await AppealedAsync(app, userId, t0 - TimeSpan.FromDays(364));
        var alsoOld = (await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Low, t0 - TimeSpan.FromDays(360)))).Violation;
        var stillBanning = (await app.Scoring.RecordViolationAsync(Violation(userId, "violent_extremism", Severity.Critical, t0 - TimeSpan.FromDays(364)))).Violation;
        var young = (await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Low, t0 - TimeSpan.FromDays(300)))).Violation;
        var otherUser = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(otherUser, "spam", Severity.Low, t0 - TimeSpan.FromDays(363)));

        // 400 days on, the first two and the other user's are past 730 days; "young" is 700 days old.
        // The clock's jump also wakes the background job: whichever run gets there first purges, and the
        // end state must be the same.
        app.Time.SetUtcNow(t0 + TimeSpan.FromDays(400));
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<RetentionPurge>().RunAsync(TestContext.Current.CancellationToken);

        var left = (await app.Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = userId, IncludeInactive = true })).Violations;
        Assert.Equal(new[] { young.ViolationId, stillBanning.ViolationId }.Order(), left.Select(v => v.ViolationId).Order());
        Assert.DoesNotContain(left, v => v.ViolationId == old.ViolationId || v.ViolationId == alsoOld.ViolationId);
        Assert.Empty((await app.Appeals.ListAppealsAsync(new ListAppealsRequest { UserId = userId })).Appeals);
        Assert.Empty((await app.Scoring.ListViolationsAsync(new ListViolationsRequest { UserId = otherUser, IncludeInactive = true })).Violations);
        Assert.Equal(Standing.Banned, (await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).Standing);

        var purges = (await app.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { UserId = userId })).Entries.Where(e => e.Action == "retention.purged").ToList();
        Assert.Equal(3L, purges.Sum(e => e.ItemCount));
        Assert.All(purges, e => Assert.True(e.ItemCount > 0));
        Assert.True((await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = userId })).Valid);
        Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<RetentionPurge>().RunAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Finding_what_retention_purges_reads_the_oldest_violations_not_the_whole_table()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis: null);
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
        // 20 000 violations of 2 000 users from yesterday, with fresh statistics: none is due.
        var occurred = app.Time.GetUtcNow() - TimeSpan.FromDays(1);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO violations (id, source, event_id, user_id, category, severity, base_points, occurred_at, recorded_at, automated, status, appealable_until)
            SELECT 'v-' || g, 'bench', 'e-' || g, 'u-' || (g % 2000), 'spam', 2, 10, {occurred}, {occurred}, false, 1, {occurred}
            FROM generate_series(1, 20000) AS g
            """, TestContext.Current.CancellationToken);
        await db.Database.ExecuteSqlRawAsync("ANALYZE violations", TestContext.Current.CancellationToken);

        await using var reading = await db.Database.BeginTransactionAsync(TestContext.Current.CancellationToken);
        var purge = scope.ServiceProvider.GetRequiredService<RetentionPurge>();
        // Once unmeasured: planning after ANALYZE reads each index's first page again.
        await purge.RunAsync(TestContext.Current.CancellationToken);
        var before = await TableReads.BlocksAsync(db, "violations");
        var purged = await purge.RunAsync(TestContext.Current.CancellationToken);
        var read = await TableReads.BlocksAsync(db, "violations") - before;

        Assert.Equal(0, purged);
        // Down one index to where the oldest violation stands: of the table's and its indexes' hundreds of pages.
        Assert.InRange(read, 1, 5);
    }

    [Fact]
    public async Task A_failed_retention_run_logs_the_whole_exception()
    {
        // An unmigrated database: the background run fails on its first query.
        using var app = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
            ["Database:MigrateOnStartup"] = "false",
        });
        _ = app.Server;

        await app.Logs.WaitForAsync(e => e.Message.StartsWith("Retention purge failed", StringComparison.Ordinal), TimeSpan.FromMinutes(1));

        var failure = Assert.Single(app.Logs.Entries, e => e.Message.StartsWith("Retention purge failed", StringComparison.Ordinal));
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, failure.Level);
        var exception = Assert.IsType<PostgresException>(failure.Exception, exactMatch: false);
        Assert.Equal(PostgresErrorCodes.UndefinedTable, exception.SqlState);
    }

    private static async Task<long> RowsMentioningAsync(string database, string userId, params string[] tables)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        long total = 0;
        foreach (var table in tables)
        {
            // Any column, as text: nothing about the user may survive anywhere in these rows.
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || @user || '%'", connection);
            command.Parameters.AddWithValue("user", userId);
            total += (long)(await command.ExecuteScalarAsync())!;
        }

        return total;
    }

    private async Task<int> RedisKeysMentioningAsync(string userId)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis.ConnectionString);
        var server = redis.GetServers().Single();
        var keys = 0;
        await foreach (var key in server.KeysAsync(pattern: "*"))
        {
            var value = redis.GetDatabase().KeyType(key) == RedisType.Hash
                ? string.Join(' ', redis.GetDatabase().HashGetAll(key).Select(e => e.Value.ToString()))
                : redis.GetDatabase().StringGet(key).ToString();
            if (key.ToString().Contains(userId, StringComparison.Ordinal) || value.Contains(userId, StringComparison.Ordinal))
            {
                keys++;
            }
        }

        return keys;
    }
}
