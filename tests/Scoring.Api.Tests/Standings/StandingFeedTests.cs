using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scoring.Api.Features.Standings;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Tests.Infrastructure;
using Scoring.Domain.Policies;
using Scoring.Domain.Scores;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Standings;

/// <summary>
/// The feed of standing changes in process, on real PostgreSQL (and the SQLite default): which changes
/// become entries, time-driven drops at their exact instants and once across replicas, retention,
/// erasure, and watching from a revision or from now.
/// </summary>
public sealed class StandingFeedTests(TestServers servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Only_real_changes_of_standing_are_entries_each_with_its_cause()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis: null);
        var user = NewUserId();

        // spam LOW is 5 points: 5 (GOOD), 10 (WARNED from 8), 15 (still WARNED), then HIGH 40 more: 55 (RESTRICTED from 35).
        await app.Scoring.RecordViolationAsync(Violation(user, severity: Severity.Low), cancellationToken: Token);
        await app.Scoring.RecordViolationAsync(Violation(user, severity: Severity.Low), cancellationToken: Token);
        await app.Scoring.RecordViolationAsync(Violation(user, severity: Severity.Low), cancellationToken: Token);
        await app.Scoring.RecordViolationAsync(Violation(user, severity: Severity.High), cancellationToken: Token);
        var changes = await ListAllAsync(app.Standings, user, expected: 2);

        Assert.Equal(
            [(Standing.Good, Standing.Warned, StandingChangeCause.ViolationRecorded), (Standing.Warned, Standing.Restricted, StandingChangeCause.ViolationRecorded)],
            changes.Select(c => (c.PreviousStanding, c.Standing, c.Cause)));
        Assert.Equal(10, changes[0].Points, 1e-6);
        Assert.Equal(app.Time.GetUtcNow(), changes[1].ChangedAt.ToDateTimeOffset());
        Assert.True(string.CompareOrdinal(changes[0].Revision, changes[1].Revision) < 0);
    }

    [Fact]
    public async Task Decay_and_expiry_are_recorded_at_their_instants_exactly_once_across_two_replicas()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var one = ScoringApp.OnPostgres(database, redis: null);
        using var two = ScoringApp.OnPostgres(database, redis: null, one.Time);
        _ = (one.Server, two.Server);
        var user = NewUserId();
        var occurred = one.Time.GetUtcNow();

        // fraud CRITICAL: 150 points (SUSPENDED), halving every 90 days, 9 points left (WARNED) when it
        // passes max_age after 365 days: two drops by decay, then one by expiry.
        await one.Scoring.RecordViolationAsync(Violation(user, "fraud", Severity.Critical), cancellationToken: Token);
        var recorded = Assert.Single(await ListAllAsync(one.Standings, user));
        var expected = ExpectedDrops(one.Services.GetRequiredService<Api.Infrastructure.Policies.ActivePolicy>().Current, occurred);
        one.Time.Advance(TimeSpan.FromDays(366));

        // Both replicas scan at the same moment, as their timers would.
        await Task.WhenAll(Scan(one).RunOnceAsync(Token), Scan(two).RunOnceAsync(Token));
        await Task.WhenAll(Scan(one).RunOnceAsync(Token), Scan(two).RunOnceAsync(Token));
        // The entry of the record itself is past retention (7 days) by now; the drops were written now.
        var drops = await ListAllAsync(one.Standings, user, expected: 3);
        // Counted in the table itself, so a duplicate still hidden behind the feed's horizon would show.
        Assert.Equal(3, await CountStoredAsync(database, user));

        Assert.Equal((Standing.Good, Standing.Suspended), (recorded.PreviousStanding, recorded.Standing));
        Assert.Equal(
            [
                (Standing.Suspended, Standing.Restricted, StandingChangeCause.Decay),
                (Standing.Restricted, Standing.Warned, StandingChangeCause.Decay),
                (Standing.Warned, Standing.Good, StandingChangeCause.Expiry),
            ],
            drops.Select(c => (c.PreviousStanding, c.Standing, c.Cause)));
        Assert.Equal(expected, drops.Select(c => c.ChangedAt.ToDateTimeOffset()));
        Assert.Equal(occurred + TimeSpan.FromDays(365), drops[2].ChangedAt.ToDateTimeOffset().AddSeconds(-1), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_drop_before_a_new_violation_is_recorded_first_at_its_own_instant()
    {
        using var app = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
            ["Scoring:StandingChangeRetention"] = "30.00:00:00",
        });
        var user = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(user, severity: Severity.Medium), cancellationToken: Token);
        var improvesAt = (await app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = user }, cancellationToken: Token)).StandingImprovesAt.ToDateTimeOffset();

        // Whichever sees the drop first, the scan (its timer fires as time moves) or the write (which finds
        // the drop it passed), records it once, before the write's own change.
        app.Time.Advance(TimeSpan.FromDays(13));
        await app.Scoring.RecordViolationAsync(Violation(user, severity: Severity.Medium), cancellationToken: Token);
        var changes = await ListAllAsync(app.Standings, user, expected: 3);

        Assert.Equal(
            [
                (Standing.Good, Standing.Warned, StandingChangeCause.ViolationRecorded),
                (Standing.Warned, Standing.Good, StandingChangeCause.Decay),
                (Standing.Good, Standing.Warned, StandingChangeCause.ViolationRecorded),
            ],
            changes.Select(c => (c.PreviousStanding, c.Standing, c.Cause)));
        Assert.Equal(improvesAt, changes[1].ChangedAt.ToDateTimeOffset());
        Assert.Equal(app.Time.GetUtcNow(), changes[2].ChangedAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task An_overturned_appeal_and_an_erasure_are_entries_and_the_erasure_removes_the_earlier_ones()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis: null);
        var user = NewUserId();
        var recorded = await app.Scoring.RecordViolationAsync(Violation(user, "harassment", Severity.High), cancellationToken: Token);
        var appeal = await app.Appeals.SubmitAppealAsync(
            new SubmitAppealRequest { ViolationId = recorded.Violation.ViolationId, UserId = user, Statement = "Not me" }, cancellationToken: Token);
        await app.Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1" }, cancellationToken: Token);
        await app.Appeals.DecideAppealAsync(
            new DecideAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1", Decision = AppealDecision.Overturn, Rationale = "Wrong account" },
            cancellationToken: Token);
        var beforeErasure = await ListAllAsync(app.Standings, user, expected: 2);
        await app.Scoring.RecordViolationAsync(Violation(user, "harassment", Severity.High), cancellationToken: Token);

        await app.Privacy.EraseUserAsync(new EraseUserRequest { UserId = user, Reason = "gdpr_art17_request" }, cancellationToken: Token);
        var afterErasure = await ListAllAsync(app.Standings, user);

        Assert.Equal(
            [(Standing.Good, Standing.Restricted, StandingChangeCause.ViolationRecorded), (Standing.Restricted, Standing.Good, StandingChangeCause.AppealDecided)],
            beforeErasure.Select(c => (c.PreviousStanding, c.Standing, c.Cause)));
        var erasure = Assert.Single(afterErasure);
        Assert.Equal((Standing.Restricted, Standing.Good, StandingChangeCause.Erasure), (erasure.PreviousStanding, erasure.Standing, erasure.Cause));
        Assert.Equal(0, erasure.Points);
    }

    [Fact]
    public async Task A_revision_older_than_retention_is_OUT_OF_RANGE_with_the_oldest_revision()
    {
        using var app = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
            ["Scoring:StandingChangeRetention"] = "1.00:00:00",
        });
        var early = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(early), cancellationToken: Token);
        var first = (await ListAllAsync(app.Standings, early)).Single().Revision;
        app.Time.Advance(TimeSpan.FromDays(2));
        var late = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(late), cancellationToken: Token);

        await Scan(app).RunOnceAsync(Token);
        var listed = await AssertFails(StatusCode.OutOfRange, () =>
            app.Standings.ListStandingChangesAsync(new ListStandingChangesRequest { SinceRevision = Before(first) }, cancellationToken: Token).ResponseAsync);
        using var watch = app.Standings.WatchStandingChanges(new WatchStandingChangesRequest { FromRevision = Before(first) }, cancellationToken: Token);
        var watched = await AssertFails(StatusCode.OutOfRange, () => watch.ResponseStream.MoveNext(Token));
        await ListAllAsync(app.Standings, late);
        var remaining = await app.Standings.ListStandingChangesAsync(new ListStandingChangesRequest(), cancellationToken: Token);

        var info = listed.GetDetail<Google.Rpc.ErrorInfo>();
        Assert.Equal("REVISION_COMPACTED", info.Reason);
        Assert.Equal(first, info.Metadata["oldest_revision"]);
        Assert.Equal(first, watched.GetDetail<Google.Rpc.ErrorInfo>().Metadata["oldest_revision"]);
        Assert.Equal([late], remaining.Changes.Select(c => c.UserId));
    }

    [Fact]
    public async Task A_user_from_before_the_feed_is_recorded_by_the_scan_without_an_entry_then_followed()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = database,
            ["Scoring:StandingChangeRetention"] = "30.00:00:00",
        });
        var user = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(user, severity: Severity.Medium), cancellationToken: Token);
        await ListAllAsync(app.Standings, user);
        // As the StandingFeed migration leaves a user written before it: standing unknown, due for the scan.
        await using (var connection = new Npgsql.NpgsqlConnection(database))
        {
            await connection.OpenAsync(Token);
            await using var reset = new Npgsql.NpgsqlCommand(
                $"UPDATE user_score_versions SET standing = 0, standing_drops_at = NULL; DELETE FROM standing_changes; " +
                $"DELETE FROM standing_drops; INSERT INTO standing_drops (user_id, due_at) VALUES ('{user}', '2000-01-01T00:00:00Z')",
                connection);
            await reset.ExecuteNonQueryAsync(Token);
        }

        await Scan(app).RunOnceAsync(Token);
        app.Time.Advance(TimeSpan.FromDays(13));
        await Scan(app).RunOnceAsync(Token);

        // The scan recorded WARNED as it found it (no entry), so the decay is the only entry, from WARNED.
        var decayed = Assert.Single(await ListAllAsync(app.Standings, user));
        Assert.Equal((Standing.Warned, Standing.Good, StandingChangeCause.Decay), (decayed.PreviousStanding, decayed.Standing, decayed.Cause));
    }

    [Theory]
    [InlineData("Postgres")]
    [InlineData("Sqlite")]
    public async Task A_watch_from_a_revision_sends_what_followed_it_then_each_new_change_once(string provider)
    {
        using var app = await StartAsync(provider);
        string[] users = [NewUserId(), NewUserId(), NewUserId()];
        await app.Scoring.RecordViolationAsync(Violation(users[0]), cancellationToken: Token);
        var from = (await ListAllAsync(app.Standings, users[0])).Single().Revision;
        await app.Scoring.RecordViolationAsync(Violation(users[1]), cancellationToken: Token);

        using var watch = app.Standings.WatchStandingChanges(new WatchStandingChangesRequest { FromRevision = from }, cancellationToken: Token);
        var caughtUp = await NextChangeAsync(watch);
        await app.Scoring.RecordViolationAsync(Violation(users[2]), cancellationToken: Token);
        var live = await NextChangeAsync(watch);

        Assert.Equal(users[1], caughtUp.UserId);
        Assert.Equal(users[2], live.UserId);
        var stored = await app.Standings.ListStandingChangesAsync(new ListStandingChangesRequest { SinceRevision = from }, cancellationToken: Token);
        Assert.Equal(stored.Changes.Select(c => c.Revision), [caughtUp.Revision, live.Revision]);
    }

    [Fact]
    public async Task A_watch_from_now_starts_with_a_bookmark_and_bookmarks_while_idle()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis: null);
        await app.Scoring.RecordViolationAsync(Violation(NewUserId()), cancellationToken: Token);
        var user = NewUserId();

        using var watch = app.Standings.WatchStandingChanges(new WatchStandingChangesRequest { UserIds = { user } }, cancellationToken: Token);
        Assert.True(await watch.ResponseStream.MoveNext(Token));
        var start = watch.ResponseStream.Current.Bookmark;
        await app.Scoring.RecordViolationAsync(Violation(NewUserId()), cancellationToken: Token);
        await app.Scoring.RecordViolationAsync(Violation(user), cancellationToken: Token);
        var change = await NextChangeAsync(watch);
        var idle = watch.ResponseStream.MoveNext(Token);
        // The watcher arms its bookmark timer once it finds nothing to send; time moves until it fires.
        await AdvanceUntilAsync(app, idle);
        Assert.True(await idle);
        var bookmark = watch.ResponseStream.Current.Bookmark;

        Assert.NotNull(start);
        Assert.Equal(user, change.UserId);
        Assert.True(string.CompareOrdinal(start.Revision, change.Revision) < 0);
        Assert.NotNull(bookmark);
        Assert.True(string.CompareOrdinal(change.Revision, bookmark.Revision) <= 0);
    }

    [Fact]
    public async Task Changes_committed_together_reach_a_live_watcher_in_full_and_in_revision_order()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis: null);
        string[] users = [.. Enumerable.Range(0, 5).Select(_ => NewUserId())];
        using var watch = app.Standings.WatchStandingChanges(new WatchStandingChangesRequest { UserIds = { users } }, cancellationToken: Token);
        // The first message from now is a bookmark: the watch is subscribed.
        Assert.True(await watch.ResponseStream.MoveNext(Token));

        // One transaction, read by the feed at once: the watcher usually sends them as one run, each but the
        // last held back for the next (one flush). However they are split, the last of a run must go out: a
        // change held back with nothing behind it would never arrive.
        var batch = new RecordViolationsRequest();
        batch.Violations.AddRange(users.Select(user => Violation(user)));
        await app.Scoring.RecordViolationsAsync(batch, cancellationToken: Token);
        var received = new List<StandingChange>();
        foreach (var _ in users)
        {
            received.Add(await NextChangeAsync(watch));
        }

        Assert.Equal(users.Order(StringComparer.Ordinal), received.Select(c => c.UserId).Order(StringComparer.Ordinal));
        Assert.Equal(received.Select(c => c.Revision).Order(StringComparer.Ordinal), received.Select(c => c.Revision));
    }

    [Fact]
    public async Task Counts_are_per_recorded_standing_with_the_contested_users()
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis: null);
        var warned = NewUserId();
        var restricted = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(warned, severity: Severity.Medium), cancellationToken: Token);
        var contested = await app.Scoring.RecordViolationAsync(Violation(restricted, "harassment", Severity.High), cancellationToken: Token);
        await app.Appeals.SubmitAppealAsync(
            new SubmitAppealRequest { ViolationId = contested.Violation.ViolationId, UserId = restricted, Statement = "Context" }, cancellationToken: Token);

        var counts = await app.Standings.GetStandingCountsAsync(new GetStandingCountsRequest(), cancellationToken: Token);

        Assert.Equal(1, counts.UsersByStanding["STANDING_WARNED"]);
        Assert.Equal(1, counts.UsersByStanding["STANDING_RESTRICTED"]);
        Assert.Equal(0, counts.UsersByStanding["STANDING_BANNED"]);
        Assert.Equal(1, counts.ContestedUsers);
        Assert.Equal(app.Time.GetUtcNow(), counts.AsOf.ToDateTimeOffset());
    }

    [Theory]
    [InlineData("not-a-revision", "from_revision")]
    [InlineData("", "user_ids")]
    public async Task A_malformed_watch_is_INVALID_ARGUMENT_naming_the_field(string revision, string field)
    {
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis: null);
        var request = new WatchStandingChangesRequest { FromRevision = revision };
        if (field == "user_ids")
        {
            request.UserIds.AddRange(Enumerable.Range(0, 1001).Select(i => $"u-{i}"));
        }

        using var watch = app.Standings.WatchStandingChanges(request, cancellationToken: Token);

        await AssertInvalid(field, () => watch.ResponseStream.MoveNext(Token));
    }

    private async Task<ScoringApp> StartAsync(string provider)
    {
        var app = provider == "Postgres"
            ? ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis: null)
            : ScoringApp.OnSqlite(Path.Combine(Directory.CreateTempSubdirectory("scoring-feed-").FullName, "scoring.db"));
        _ = app.Server;
        return app;
    }

    private static async Task<long> CountStoredAsync(string database, string user)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync(Token);
        await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM standing_changes WHERE user_id = @user", connection);
        count.Parameters.AddWithValue("user", user);
        return (long)(await count.ExecuteScalarAsync(Token))!;
    }

    private static StandingDropScan Scan(ScoringApp app) => app.Services.GetServices<IHostedService>().OfType<StandingDropScan>().Single();

    /// <summary>The drop instants the domain predicts for one fraud CRITICAL violation, in order.</summary>
    private static List<DateTimeOffset> ExpectedDrops(ScoringPolicy policy, DateTimeOffset occurred)
    {
        ScoredViolation[] violations = [new("v", "fraud", Domain.Severity.Critical, occurred)];
        var drops = new List<DateTimeOffset>();
        var at = occurred;
        while (ScoreCalculator.Compute(policy, violations, at).StandingImprovesAt is { } next)
        {
            drops.Add(next);
            at = next;
        }

        return drops;
    }

    /// <summary>A revision just before <paramref name="revision"/>: asking from it asks for that entry too.</summary>
    private static string Before(string revision) =>
        Convert.ToHexString(BitConverter.GetBytes(BitConverter.ToUInt128(Convert.FromHexString(revision).Reverse().ToArray()) - 1).Reverse().ToArray()).ToLowerInvariant();

    /// <summary>
    /// The user's entries once at least <paramref name="expected"/> are there. An entry becomes readable
    /// once every transaction that started before it has finished, in any database of the server (other
    /// tests' included), so a list right after a write may not show it yet.
    /// </summary>
    private static async Task<List<StandingChange>> ListAllAsync(V1.Standings.StandingsClient client, string user, int expected = 1)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Token);
        bound.CancelAfter(TimeSpan.FromSeconds(30));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (true)
        {
            var changes = new List<StandingChange>();
            var request = new ListStandingChangesRequest { UserIds = { user }, PageSize = 100 };
            do
            {
                var page = await client.ListStandingChangesAsync(request, cancellationToken: Token);
                changes.AddRange(page.Changes);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);

            if (changes.Count >= expected)
            {
                return changes;
            }

            await poll.WaitForNextTickAsync(bound.Token);
        }
    }

    [Fact]
    public async Task How_late_the_reader_is_is_one_probe_of_the_revision_index_however_long_the_feed()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, redis: null);
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ScoringDbContext>();
        // A retained feed of 5 000 entries written by 50 transactions, with fresh statistics; the reader has
        // handed out all but the last transaction's 100.
        for (var transaction = 0; transaction < 50; transaction++)
        {
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO standing_changes (user_id, previous_standing, standing, points, permanent, cause, changed_at, policy_version, recorded_at)
                SELECT 'u' || g, 1, 2, 10, false, 1, {ScoringApp.Start}, 'v1', {ScoringApp.Start.AddSeconds(transaction)} FROM generate_series(1, 100) AS g
                """, Token);
        }

        await db.Database.ExecuteSqlRawAsync("ANALYZE standing_changes", Token);
        var entries = await db.StandingChanges.AsNoTracking().OrderBy(c => c.TransactionId).ThenBy(c => c.Sequence).ToListAsync(Token);
        var handedOut = Revision.Of(entries[^101]);

        await using var reading = await db.Database.BeginTransactionAsync(Token);
        // Once unmeasured: planning after ANALYZE reads each index's first page again.
        await db.OldestUnreadAsync(handedOut, Token);
        var before = await TableReads.BlocksAsync(db, "standing_changes");
        var oldest = await db.OldestUnreadAsync(handedOut, Token);
        var read = await TableReads.BlocksAsync(db, "standing_changes") - before;

        Assert.Equal(ScoringApp.Start.AddSeconds(49), oldest);
        // Down the revision index to the first unread entry, and that entry: of the feed's hundreds of pages.
        Assert.InRange(read, 1, 5);
        Assert.Null(await db.OldestUnreadAsync(Revision.Of(entries[^1]), Token));
    }

    private static async Task<StandingChange> NextChangeAsync(AsyncServerStreamingCall<WatchStandingChangesResponse> watch)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Token);
        bound.CancelAfter(TimeSpan.FromSeconds(30));
        while (await watch.ResponseStream.MoveNext(bound.Token))
        {
            if (watch.ResponseStream.Current.Change is { } change)
            {
                return change;
            }
        }

        throw new Xunit.Sdk.XunitException("The watch ended without a change.");
    }

    /// <summary>Moves the service's clock a bookmark interval at a time until <paramref name="pending"/> completes (bounded).</summary>
    private static async Task AdvanceUntilAsync(ScoringApp app, Task pending)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        for (var i = 0; i < 500 && !pending.IsCompleted; i++)
        {
            app.Time.Advance(StandingWatcher.BookmarkInterval);
            await timer.WaitForNextTickAsync(Token);
        }
    }
}
