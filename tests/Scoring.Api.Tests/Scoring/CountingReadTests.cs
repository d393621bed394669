using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Infrastructure.Policies;
using Scoring.Api.Tests.Infrastructure;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// The read every write and every cache miss makes: a user's counting violations. A user's violations
/// older than max_age stay stored until retention purges them (a year later under the default policy);
/// the read must not grow with them.
/// </summary>
public sealed class CountingReadTests(TestServers servers)
{
    [Fact]
    public async Task Reading_what_counts_reads_neither_the_older_violations_nor_their_rows()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis: null);
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
        var policy = scope.ServiceProvider.GetRequiredService<ActivePolicy>().Current;
        var now = app.Time.GetUtcNow();
        var (userId, other) = (NewUserId(), NewUserId());
        var old = now - policy.MaxAge - TimeSpan.FromDays(30);
        var recent = now - TimeSpan.FromDays(3);
        // 2 000 violations past max_age (and another user's, around them in the index), three recent ones,
        // and two old CRITICAL ones: only the zero-tolerance category's still counts.
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO violations (id, source, event_id, user_id, category, severity, base_points, occurred_at, recorded_at, automated, status, appealable_until)
            SELECT 'v-' || g, 'bench', 'e-' || g, CASE WHEN g % 2 = 0 THEN {userId} ELSE {other} END, 'spam', 2, 10,
                   {old} - g * interval '1 minute', {old}, false, 1, {old}
            FROM generate_series(1, 4000) AS g
            UNION ALL
            SELECT 'r-' || g, 'bench', 'r-' || g, {userId}, 'spam', 2, 10, {recent}, {recent}, false, 1, {recent} FROM generate_series(1, 3) AS g
            UNION ALL
            SELECT 'c-1', 'bench', 'c-1', {userId}, 'violent_extremism', 4, 10, {old}, {old}, false, 1, {old}
            UNION ALL
            SELECT 'c-2', 'bench', 'c-2', {userId}, 'spam', 4, 10, {old}, {old}, false, 1, {old}
            """, TestContext.Current.CancellationToken);
        await db.Database.ExecuteSqlRawAsync("ANALYZE violations", TestContext.Current.CancellationToken);

        await using var reading = await db.Database.BeginTransactionAsync(TestContext.Current.CancellationToken);
        // As a prepared statement runs after a few executions: one plan for any parameters, which can use the
        // partial index only if the query's own text says severity = 4.
        await db.Database.ExecuteSqlRawAsync("SET LOCAL plan_cache_mode = force_generic_plan", TestContext.Current.CancellationToken);
        // Once unmeasured: planning after ANALYZE reads each index's first page again.
        await db.LoadCountingAsync([userId], policy, now, TestContext.Current.CancellationToken);
        var before = await TableReads.BlocksAsync(db, "violations");
        var counting = await db.LoadCountingAsync([userId], policy, now, TestContext.Current.CancellationToken);
        var read = await TableReads.BlocksAsync(db, "violations") - before;

        Assert.Equal(["c-1", "r-1", "r-2", "r-3"], counting[userId].Select(v => v.ViolationId).Order());
        // Down the per-user index to the recent three and the CRITICAL index to the two, and their rows.
        // Reading the user's 2 000 older entries and rows as well took 78 (rows inserted together share
        // pages; a year of a user's violations among everyone's would take more).
        Assert.InRange(read, 1, 20);
    }
}
