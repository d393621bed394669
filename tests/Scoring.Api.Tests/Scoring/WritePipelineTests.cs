using Grpc.Core;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Scoring.Api.Features.Violations;
using Scoring.Api.Infrastructure.Caching;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Tests.Infrastructure;
using Scoring.V1;
using static Scoring.Api.Tests.Infrastructure.Requests;

namespace Scoring.Api.Tests.Scoring;

/// <summary>
/// The write pipeline's paths that real faults reach only by chance, each driven through a deterministic
/// seam (a command interceptor, a cache whose writes fail on demand) on real PostgreSQL and Redis.
/// </summary>
public sealed class WritePipelineTests(TestServers servers)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Concurrent_single_records_share_commits()
    {
        var hook = new CommandHook();
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, services: Hook(hook));
        var pipeline = app.Services.GetRequiredService<ViolationWritePipeline>();
        const int Calls = 40;

        // Every writer is held at its lock statement until all the calls are queued, so what the writers
        // find waiting when they go on is exactly what grouping has to share out.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hook.OnCommand = command => IsLockStatement(command) ? release.Task : Task.CompletedTask;
        var calls = Enumerable.Range(0, Calls).Select(i => app.Scoring.RecordViolationAsync(Violation(NewUserId())).ResponseAsync).ToList();
        await WaitUntilAsync(() => pipeline.Queued == Calls);
        var commitsBefore = hook.Commits;
        release.SetResult();

        var replies = await Task.WhenAll(calls);

        Assert.All(replies, r => Assert.False(r.Duplicate));
        Assert.Equal(Calls, replies.Select(r => r.Violation.ViolationId).Distinct().Count());
        // At most one group per writer held, then the rest together: far fewer commits than calls.
        Assert.InRange(hook.Commits - commitsBefore, 1, 2 * ViolationWritePipeline.Writers);
    }

    [Fact]
    public async Task A_batch_is_written_by_the_writers_of_its_users_so_a_held_writer_holds_back_only_its_own_part()
    {
        var hook = new CommandHook();
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString, services: Hook(hook));
        var held = NewUserIdOf(writer: 0);
        var others = Enumerable.Range(1, ViolationWritePipeline.Writers - 1).Select(NewUserIdOf).ToArray();
        var batch = new RecordViolationsRequest { Violations = { Violation(held), Violation(held) } };
        batch.Violations.AddRange(others.Select(user => Violation(user)));

        // The first writer's lock statement waits until released: while it does, the other writers' parts
        // of the batch commit on their own. Written as one group, nothing of the batch would commit.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var transactions = 0;
        hook.OnCommand = command =>
        {
            if (!IsLockStatement(command))
            {
                return Task.CompletedTask;
            }

            // Only the batch's: a background write (the drop scan) takes locks too.
            if (LocksUser(command, held) || others.Any(user => LocksUser(command, user)))
            {
                Interlocked.Increment(ref transactions);
            }

            return LocksUser(command, held) ? release.Task : Task.CompletedTask;
        };
        var call = app.Scoring.RecordViolationsAsync(batch).ResponseAsync;

        await WaitUntilAsync(async () => await CountAsync(database, "SELECT count(*) FROM violations") == others.Length);
        Assert.False(call.IsCompleted);
        release.SetResult();
        var reply = await call;

        Assert.All(reply.Results, r => Assert.Equal((false, 0), (r.Duplicate, r.Error?.Code ?? 0)));
        Assert.Equal([held, held, .. others], reply.Results.Select(r => r.Violation.UserId));
        Assert.Equal(ViolationWritePipeline.Writers, transactions);
        await ScoringContractTests.AssertScoreMatchesRecomputation(app.Scoring, held, expectedCount: 2);
    }

    [Fact]
    public async Task An_event_repeated_in_a_batch_for_users_of_two_writers_keeps_the_batch_on_one_writer()
    {
        var hook = new CommandHook();
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, services: Hook(hook));
        var first = Violation(NewUserIdOf(writer: 0));
        var repeat = first.Clone();
        repeat.UserId = NewUserIdOf(writer: 1);
        var batch = new RecordViolationsRequest { Violations = { first, Violation(NewUserIdOf(writer: 1)), repeat } };
        var transactions = 0;
        hook.OnCommand = command =>
        {
            if (IsLockStatement(command) && batch.Violations.Any(v => LocksUser(command, v.UserId)))
            {
                Interlocked.Increment(ref transactions);
            }

            return Task.CompletedTask;
        };

        var reply = await app.Scoring.RecordViolationsAsync(batch);

        // One transaction, so the first occurrence is recorded and the repeat, for another user, conflicts
        // with it, as within any group; split between writers, whichever committed first would win.
        Assert.Equal(1, transactions);
        Assert.Equal((false, 0), (reply.Results[0].Duplicate, reply.Results[0].Error?.Code ?? 0));
        Assert.Equal(first.UserId, reply.Results[0].Violation.UserId);
        Assert.Equal((int)StatusCode.AlreadyExists, reply.Results[2].Error.Code);
    }

    [Fact]
    public async Task An_event_repeated_in_a_batch_for_users_of_one_writer_still_lets_the_batch_split()
    {
        var hook = new CommandHook();
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, services: Hook(hook));
        var first = Violation(NewUserIdOf(writer: 0));
        var repeat = first.Clone();
        repeat.UserId = NewUserIdOf(writer: 0);
        var batch = new RecordViolationsRequest { Violations = { first, Violation(NewUserIdOf(writer: 1)), repeat } };
        var transactions = 0;
        hook.OnCommand = command =>
        {
            if (IsLockStatement(command) && batch.Violations.Any(v => LocksUser(command, v.UserId)))
            {
                Interlocked.Increment(ref transactions);
            }

            return Task.CompletedTask;
        };

        var reply = await app.Scoring.RecordViolationsAsync(batch);

        // The repeat and its first occurrence share a writer, so the batch splits as any other.
        Assert.Equal(2, transactions);
        Assert.Equal((false, 0), (reply.Results[0].Duplicate, reply.Results[0].Error?.Code ?? 0));
        Assert.Equal((false, 0), (reply.Results[1].Duplicate, reply.Results[1].Error?.Code ?? 0));
        Assert.Equal((int)StatusCode.AlreadyExists, reply.Results[2].Error.Code);
    }

    [Fact]
    public async Task A_lost_insert_race_writes_the_group_once_more_and_turns_the_stolen_event_into_a_conflict()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        var hook = new CommandHook();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString, services: Hook(hook));
        using var rival = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString, app.Time);
        _ = (app.Server, rival.Server);
        var userId = NewUserId();
        var batch = new RecordViolationsRequest();
        batch.Violations.AddRange(Enumerable.Range(0, 20).Select(_ => Violation(userId)));
        var stolen = batch.Violations[7];

        // Just before this batch inserts, another replica records one of its events for another user and
        // commits: the unique index then refuses the batch's insert, a race no timing can hit reliably.
        var raced = 0;
        hook.OnCommand = async command =>
        {
            if (command.CommandText.Contains("INSERT INTO violations", StringComparison.Ordinal) && Interlocked.Exchange(ref raced, 1) == 0)
            {
                var rivalReport = stolen.Clone();
                rivalReport.UserId = NewUserId();
                await rival.Scoring.RecordViolationAsync(rivalReport);
            }
        };
        var commitsBefore = hook.Commits;

        var reply = await app.Scoring.RecordViolationsAsync(batch);

        Assert.Equal(1, raced);
        Assert.Equal((int)StatusCode.AlreadyExists, reply.Results[7].Error.Code);
        var recorded = reply.Results.Where((_, i) => i != 7).ToList();
        Assert.All(recorded, r => Assert.Equal((false, 0), (r.Duplicate, r.Error?.Code ?? 0)));
        // One more transaction for the whole group, not one per item.
        Assert.Equal(1, hook.Commits - commitsBefore);
        await ScoringContractTests.AssertScoreMatchesRecomputation(app.Scoring, userId, expectedCount: 19);
        Assert.Equal(20, await CountAsync(database, "SELECT count(*) FROM violations"));
    }

    [Fact]
    public async Task A_group_that_fails_fails_its_callers_and_the_writers_carry_on()
    {
        var hook = new CommandHook();
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, services: Hook(hook));
        _ = app.Server;
        var failures = 0;
        hook.OnCommand = command =>
            IsLockStatement(command) && Interlocked.Exchange(ref failures, 1) == 0
                ? throw new InvalidOperationException("a bug in one group")
                : Task.CompletedTask;

        await AssertFails(StatusCode.Internal, () => app.Scoring.RecordViolationAsync(Violation(NewUserId())).ResponseAsync);
        Assert.Contains(app.Logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Message.StartsWith("Writing a group of 1 submissions", StringComparison.Ordinal));

        // Every writer is still there: as many concurrent calls as writers all succeed.
        var later = await Task.WhenAll(Enumerable.Range(0, 2 * ViolationWritePipeline.Writers)
            .Select(_ => app.Scoring.RecordViolationAsync(Violation(NewUserId())).ResponseAsync));
        Assert.All(later, r => Assert.False(r.Duplicate));
    }

    [Theory]
    [InlineData("a bug", StatusCode.Internal)]
    [InlineData("a lock timeout", StatusCode.Unavailable)]
    public async Task A_report_that_fails_its_group_fails_alone_and_the_reports_written_with_it_are_recorded(string failure, StatusCode answered)
    {
        var hook = new CommandHook();
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, services: Hook(hook));
        var pipeline = app.Services.GetRequiredService<ViolationWritePipeline>();
        var poisoned = NewUserIdOf(writer: 0);

        // Each writer's first group is held at its lock statement: one call per writer (a user of each),
        // each sent once the one before is held, so every writer is busy. The other calls, all for users
        // of the first writer, then queue; released first, it finds them all and takes them as one group,
        // the poisoned one among them.
        var holds = Enumerable.Range(0, ViolationWritePipeline.Writers).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var locks = 0;
        hook.OnCommand = command =>
        {
            if (IsLockStatement(command) && Interlocked.Increment(ref locks) is var n && n <= holds.Length)
            {
                return holds[n - 1].Task;
            }

            // A bug that only this user's data reaches, or this user's row held by another transaction past
            // the server's lock_timeout (which the database refuses, and EF Core wraps, as in LockTimeoutTests).
            return command.CommandText.Contains("INSERT INTO violations", StringComparison.Ordinal)
                && command.Parameters.Cast<System.Data.Common.DbParameter>().Any(p => Equals(p.Value, poisoned)
                    || (p.Value is string[] values && values.Contains(poisoned)))
                ? throw (failure == "a bug"
                    ? new InvalidOperationException("a bug one report reaches")
                    : new PostgresException("canceling statement due to lock timeout", "ERROR", "ERROR", "55P03"))
                : Task.CompletedTask;
        };
        var calls = new List<Task<RecordViolationResponse>>();
        for (var writer = 0; writer < holds.Length; writer++)
        {
            calls.Add(app.Scoring.RecordViolationAsync(Violation(NewUserIdOf(writer))).ResponseAsync);
            await WaitUntilAsync(() => Volatile.Read(ref locks) == calls.Count);
        }

        calls.AddRange(Enumerable.Range(0, 8).Select(_ => app.Scoring.RecordViolationAsync(Violation(NewUserIdOf(writer: 0))).ResponseAsync));
        await WaitUntilAsync(() => pipeline.Queued == calls.Count);
        var poisonedCall = app.Scoring.RecordViolationAsync(Violation(poisoned)).ResponseAsync;
        await WaitUntilAsync(() => pipeline.Queued == calls.Count + 1);

        // The others stay held (each inside its first group) until the first writer has taken the rest.
        holds[0].SetResult();
        await WaitUntilAsync(() => Volatile.Read(ref locks) > holds.Length);
        foreach (var hold in holds[1..])
        {
            hold.SetResult();
        }

        await AssertFails(answered, () => poisonedCall);
        Assert.All(await Task.WhenAll(calls), r => Assert.False(r.Duplicate));
        Assert.Contains(app.Logs.Entries, e => e.Message.EndsWith("failed; writing each on its own", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_full_queue_answers_unavailable_at_once()
    {
        var hook = new CommandHook();
        using var app = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = await servers.Postgres.CreateDatabaseAsync(),
            ["ConnectionStrings:Redis"] = servers.Redis.ConnectionString,
            ["Scoring:WriteQueueCapacity"] = "2",
        }, services: Hook(hook));
        var pipeline = app.Services.GetRequiredService<ViolationWritePipeline>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hook.OnCommand = command => IsLockStatement(command) ? release.Task : Task.CompletedTask;
        var held = Enumerable.Range(0, 2).Select(_ => app.Scoring.RecordViolationAsync(Violation(NewUserId())).ResponseAsync).ToList();
        await WaitUntilAsync(() => pipeline.Queued == 2);

        var status = await AssertFails(StatusCode.Unavailable, () => app.Scoring.RecordViolationAsync(Violation(NewUserId())).ResponseAsync);
        Assert.Contains("queue is full", status.Message, StringComparison.Ordinal);
        var batch = new RecordViolationsRequest { Violations = { Violation(NewUserId()) } };
        await AssertFails(StatusCode.Unavailable, () => app.Scoring.RecordViolationsAsync(batch).ResponseAsync);

        release.SetResult();
        Assert.All(await Task.WhenAll(held), r => Assert.False(r.Duplicate));
        Assert.False((await app.Scoring.RecordViolationAsync(Violation(NewUserId()))).Duplicate);
    }

    [Fact]
    public async Task A_failed_cache_write_leaves_a_mark_in_the_database_that_another_replica_repairs()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var redis = await RedisServer.StartNewAsync();
        using var writer = ScoringApp.OnPostgres(database, redis.ConnectionString, services: FailingCache);
        var userId = NewUserId();
        await writer.Scoring.RecordViolationAsync(Violation(userId));

        writer.Services.GetRequiredService<FailingScoreCache>().FailWrites = true;
        var second = await writer.Scoring.RecordViolationAsync(Violation(userId));

        // Acknowledged although the cache did not learn it; the mark was committed with the change. (No
        // other replica runs yet, so no sweep can have cleared it.)
        Assert.Equal(2, second.Score.ActiveViolations);
        Assert.Equal(1, await CountAsync(database, $"SELECT count(*) FROM score_cache_repairs WHERE user_id = '{userId}'"));

        // Another replica's sweep rewrites the entry from the database and clears the mark.
        using var reader = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = database,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Cache:BreakDuration"] = "00:00:00.500",
        }, writer.Time);
        await WaitUntilAsync(async () => (await reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations == 2);
        await WaitUntilAsync(async () => await CountAsync(database, $"SELECT count(*) FROM score_cache_repairs WHERE user_id = '{userId}'") == 0);
    }

    [Fact]
    public async Task Marks_the_sweep_cannot_clear_do_not_hide_the_marks_after_them()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var redis = await RedisServer.StartNewAsync();
        using var writer = ScoringApp.OnPostgres(database, redis.ConnectionString, services: FailingCache);
        // More users than a sweep round takes, all before the stale one in user order.
        var held = Enumerable.Range(0, 501).Select(_ => $"u-0{Guid.NewGuid():N}").ToArray();
        foreach (var users in held.Chunk(RecordViolationsCommand.MaxItems))
        {
            var batch = new RecordViolationsRequest();
            batch.Violations.AddRange(users.Select(user => Violation(user)));
            await writer.Scoring.RecordViolationsAsync(batch);
        }

        var stale = $"u-z{Guid.NewGuid():N}";
        await writer.Scoring.RecordViolationAsync(Violation(stale));
        writer.Services.GetRequiredService<FailingScoreCache>().FailWrites = true;
        await writer.Scoring.RecordViolationAsync(Violation(stale));

        // Marks on the first users that every sweep finds and none can clear: a writer's transaction holds
        // them (as long-running writes would). Their version is above any acknowledgement on its way.
        await CountAsync(database, $"""
            WITH marked AS (INSERT INTO score_cache_repairs (user_id, version) SELECT unnest(ARRAY['{string.Join("','", held)}']), 2
              ON CONFLICT (user_id) DO UPDATE SET version = excluded.version RETURNING 1) SELECT count(*) FROM marked
            """);
        await using var holder = new NpgsqlConnection(database);
        await holder.OpenAsync(TestContext.Current.CancellationToken);
        await using var holding = await holder.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await using (var hold = new NpgsqlCommand("WITH locked AS (SELECT user_id FROM score_cache_repairs WHERE user_id LIKE 'u-0%' FOR UPDATE) SELECT count(*) FROM locked", holder, holding))
        {
            Assert.Equal(501L, await hold.ExecuteScalarAsync(TestContext.Current.CancellationToken));
        }

        // Another replica's sweep still reaches the stale user's mark and rewrites its entry.
        using var reader = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = database,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Cache:BreakDuration"] = "00:00:00.500",
            ["Cache:LocalTtl"] = "00:00:00",
        }, writer.Time);
        await WaitUntilAsync(async () => (await reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = stale })).ActiveViolations == 2);
    }

    [Fact]
    public async Task An_erasure_the_cache_did_not_hear_of_is_never_served_and_the_next_violation_is_cached()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        await using var redis = await RedisServer.StartNewAsync();
        using var eraser = ScoringApp.OnPostgres(database, redis.ConnectionString, services: FailingCache);
        using var reader = new ScoringApp(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Scoring"] = database,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Cache:BreakDuration"] = "00:00:00.500",
        }, eraser.Time);
        var userId = NewUserId();
        for (var i = 0; i < 5; i++)
        {
            await eraser.Scoring.RecordViolationAsync(Violation(userId));
        }

        Assert.Equal(5, (await reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations);
        eraser.Services.GetRequiredService<FailingScoreCache>().FailWrites = true;

        await eraser.Privacy.EraseUserAsync(new EraseUserRequest { UserId = userId, Reason = "gdpr_art17_request" });

        await WaitUntilAsync(async () => (await reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations == 0);
        eraser.Services.GetRequiredService<FailingScoreCache>().FailWrites = false;
        var next = await eraser.Scoring.RecordViolationAsync(Violation(userId));
        Assert.Equal(1, next.Score.ActiveViolations);
        // The reader's near copy of the erased state goes when the write's change notice arrives.
        await WaitUntilAsync(async () => (await reader.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId })).ActiveViolations == 1);

        // Redis holds the new state at a version above every one before the erasure.
        var entry = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using (entry)
        {
            Assert.Equal(7, (long)await entry.GetDatabase().HashGetAsync(ScoreCacheKeys.Entry(userId), "v"));
        }
    }

    [Fact]
    public async Task A_lock_row_whose_audit_head_lags_the_chain_is_repaired_and_the_write_goes_through()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var userId = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(userId));
        await app.Scoring.RecordViolationAsync(Violation(userId));

        // As a release that kept no head on the lock row leaves it after the upgrade's backfill (it appended
        // or erased since): the row points at an entry that is no longer the last.
        await CountAsync(database, $"WITH reset AS (UPDATE user_score_versions SET audit_sequence = 0, audit_hash = NULL, audit_at = NULL WHERE user_id = '{userId}' RETURNING 1) SELECT count(*) FROM reset");

        var third = await app.Scoring.RecordViolationAsync(Violation(userId));

        Assert.Equal(3, third.Score.ActiveViolations);
        var verified = await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = userId });
        Assert.Equal((true, 3L), (verified.Valid, verified.EntriesChecked));
    }

    [Fact]
    public async Task Audit_times_never_decrease_within_a_chain_when_replicas_clocks_disagree()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var ahead = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        using var behind = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString, new FakeTimeProvider(ScoringApp.Start - TimeSpan.FromMinutes(1)));
        var userId = NewUserId();

        await ahead.Scoring.RecordViolationAsync(Violation(userId, occurredAt: ScoringApp.Start - TimeSpan.FromHours(1)));
        await behind.Scoring.RecordViolationAsync(Violation(userId, occurredAt: ScoringApp.Start - TimeSpan.FromHours(1)));

        var entries = (await ahead.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { UserId = userId })).Entries;
        Assert.Equal(2, entries.Count);
        Assert.True(entries[1].OccurredAt.ToDateTimeOffset() >= entries[0].OccurredAt.ToDateTimeOffset());
        Assert.True((await ahead.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = userId })).Valid);
    }

    [Fact]
    public async Task A_cache_entry_that_no_longer_decodes_is_a_bug_reported_not_a_silent_miss()
    {
        await using var redis = await RedisServer.StartNewAsync();
        // Near copies off: the read must reach the entry in Redis, not a copy of what was written.
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), redis.ConnectionString, more: ScoringApp.StrictReads);
        var userId = NewUserId();
        await app.Scoring.RecordViolationAsync(Violation(userId));
        var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using (connection)
        {
            // As a deploy that changed the entry's shape without changing its key would leave it.
            await connection.GetDatabase().HashSetAsync(ScoreCacheKeys.Entry(userId), "d", "{\"shape\": \"of another version\"");
        }

        await AssertFails(StatusCode.Internal, () => app.Scoring.GetScoreAsync(new GetScoreRequest { UserId = userId }).ResponseAsync);
        Assert.Contains(app.Logs.Entries, e => e.Exception is System.Text.Json.JsonException);
    }

    [Theory]
    [InlineData("Postgres")]
    [InlineData("Sqlite")]
    public async Task A_write_scored_from_what_it_read_before_its_change_caches_what_counts_at_its_own_instant(string provider)
    {
        // A write that records violations scores from what it read under the lock plus what it adds. When
        // it catches up with an earlier drop it reads what counted then, and what it caches must be what
        // counts now. The drop scan would catch up first (and hide the path), so it waits out the test.
        var directory = Directory.CreateTempSubdirectory("scoring-write-").FullName;
        try
        {
            using var app = new ScoringApp(new()
            {
                ["Database:Provider"] = provider,
                ["ConnectionStrings:Scoring"] = provider == "Postgres" ? await servers.Postgres.CreateDatabaseAsync() : $"Data Source={Path.Combine(directory, "scoring.db")}",
                ["ConnectionStrings:Redis"] = provider == "Postgres" ? servers.Redis.ConnectionString : null,
                ["Cache:WriteTimeout"] = "00:00:10",
                ["Scoring:StandingScanInterval"] = "30.00:00:00",
            });
            var now = app.Time.GetUtcNow();

            // RESTRICTED until the spam decays, in about 4.2 days; the other violation (360 days old) expires
            // after that, in 5 days.
            var userId = NewUserId();
            await app.Scoring.RecordViolationAsync(Violation(userId, "violent_extremism", Severity.Low, occurredAt: now - TimeSpan.FromDays(360)));
            var decaying = await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.High));
            Assert.Equal(Standing.Restricted, decaying.Score.Standing);
            app.Time.Advance(TimeSpan.FromDays(10));

            // This write reads what counted 4.2 days in, the old violation included; it caches what counts now.
            var recorded = await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Low));

            var cached = (await app.Services.GetRequiredService<IScoreCache>().GetAsync([userId], TestContext.Current.CancellationToken))[0];
            Assert.NotNull(cached);
            Assert.Equal(
                new[] { decaying.Violation.ViolationId, recorded.Violation.ViolationId }.Order(),
                cached.Violations.Select(v => v.ViolationId).Order());
            using var scope = app.Services.CreateScope();
            var stored = await scope.ServiceProvider.GetRequiredService<ScoringDbContext>()
                .LoadScoreStatesAsync([userId], Domain.Policies.ScoringPolicy.Default, app.Time.GetUtcNow(), TestContext.Current.CancellationToken);
            Assert.Equal(stored[userId].Violations.OrderBy(v => v.ViolationId), cached.Violations.OrderBy(v => v.ViolationId));
            Assert.Equal(stored[userId].Version, cached.Version);
            // The drop it caught up with is in the feed, as the expiry would have put it there.
            var feed = await FeedOfAsync(app, userId, entries: 2);
            Assert.Contains(feed, c => c.Cause == StandingChangeCause.Decay && c.PreviousStanding == Standing.Restricted);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Drops_a_write_catches_up_with_reach_the_feed_in_the_order_they_happened()
    {
        // The feed's order within a transaction is the order a consumer sees a user's standing move in.
        // An appeal's write adds and writes other rows before it records the drops it caught up with, which
        // once left the change tracker listing the drops out of order. The drop scan, which would catch up
        // first, is left out.
        using var app = ScoringApp.OnPostgres(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString, services: services =>
        {
            var scan = services.Single(d => d.ImplementationType == typeof(Api.Features.Standings.StandingDropScan));
            services.Remove(scan);
        });
        var userId = NewUserId();
        var recorded = await app.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Critical));
        Assert.Equal(Standing.Suspended, recorded.Score.Standing);

        // Spam halves every 14 days: RESTRICTED after 2 days, WARNED after 21, GOOD after 51.
        app.Time.Advance(TimeSpan.FromDays(60));
        await app.Appeals.SubmitAppealAsync(new SubmitAppealRequest
        {
            ViolationId = recorded.Violation.ViolationId,
            UserId = userId,
            Statement = "Not spam.",
        });

        var feed = await FeedOfAsync(app, userId, entries: 4);
        Assert.Equal(
            [(Standing.Good, Standing.Suspended), (Standing.Suspended, Standing.Restricted), (Standing.Restricted, Standing.Warned), (Standing.Warned, Standing.Good)],
            feed.Select(c => (c.PreviousStanding, c.Standing)));
        Assert.Equal(feed.OrderBy(c => c.ChangedAt.ToDateTimeOffset()).Select(c => c.Revision), feed.Select(c => c.Revision));
    }

    /// <summary>
    /// The user's feed once it holds at least <paramref name="entries"/> entries (bounded): the feed lists only
    /// what committed below the oldest transaction running on the server, which other tests share.
    /// </summary>
    private static async Task<IReadOnlyList<StandingChange>> FeedOfAsync(ScoringApp app, string userId, int entries)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var feed = (await app.Standings.ListStandingChangesAsync(new ListStandingChangesRequest { UserIds = { userId } })).Changes;
            if (feed.Count >= entries || clock.Elapsed > Bound)
            {
                return feed;
            }
        }
    }

    // The statement every write transaction starts with (not the migrations' backfill).
    private static bool IsLockStatement(System.Data.Common.DbCommand command) =>
        command.CommandText.Contains("ON CONFLICT (user_id) DO UPDATE SET version", StringComparison.Ordinal);

    /// <summary>Whether a lock statement takes this user's lock (PostgreSQL passes the ids as one array).</summary>
    private static bool LocksUser(System.Data.Common.DbCommand command, string userId) =>
        command.Parameters.Cast<System.Data.Common.DbParameter>().Any(p => p.Value is string[] ids && ids.Contains(userId));

    /// <summary>A new user whose reports the pipeline's given writer writes.</summary>
    private static string NewUserIdOf(int writer)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(writer, ViolationWritePipeline.Writers);
        while (true)
        {
            var userId = NewUserId();
            if (ViolationWritePipeline.WriterOf(userId) == writer)
            {
                return userId;
            }
        }
    }

    private static Action<IServiceCollection> Hook(CommandHook hook) => services => services.AddSingleton<IInterceptor>(hook);

    private static void FailingCache(IServiceCollection services)
    {
        services.AddSingleton(sp => new FailingScoreCache(sp.GetRequiredService<RedisScoreCache>()));
        services.AddSingleton<IScoreCache>(sp => sp.GetRequiredService<FailingScoreCache>());
    }

    private static async Task<long> CountAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    /// <summary>Polls a condition the service reaches on its own (a sweep, a queue filling), within a bound.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        bound.CancelAfter(Bound);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!await condition())
        {
            Assert.False(bound.IsCancellationRequested, "The condition did not hold within the bound.");
            await timer.WaitForNextTickAsync(TestContext.Current.CancellationToken);
        }
    }
}
