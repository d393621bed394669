using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Scoring.Api.Infrastructure.Persistence;
using Scoring.Api.Options;
using Scoring.Api.Tests.Infrastructure;
using DomainAuditEntry = Scoring.Domain.Audit.AuditEntry;
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

    [Theory]
    [InlineData("sha256", AuditChainBreak.Mismatch)]
    [InlineData("hmac-under-a-guessed-key", AuditChainBreak.Mismatch)]
    [InlineData("unkeyed-sha256", AuditChainBreak.Unkeyed)]
    public async Task An_entry_rewritten_with_every_later_hash_recomputed_without_the_key_is_reported_at_the_rewrite(
        string rehash, AuditChainBreak expected)
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var appeal = await AppealedViolationAsync(app);
        await app.Appeals.AssignAppealAsync(new AssignAppealRequest { AppealId = appeal.AppealId, ReviewerId = "rev-1" });
        await Decide(app, appeal, "rev-1", AppealDecision.Uphold);
        Assert.True((await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = appeal.UserId })).Valid);

        // Someone who can write the database but does not hold the key rewrites entry 2 and rechains
        // entries 2 to 4 so that each links to the rewritten one before it, as SHA-256 once allowed.
        var guessedKey = "a guess at the audit key, 32 bytes"u8.ToArray();
        var entries = await AuditEntriesAsync(database, appeal.UserId);
        for (var i = 1; i < entries.Count; i++)
        {
            var entry = entries[i];
            Write(entry, nameof(DomainAuditEntry.PreviousHash), entries[i - 1].Hash);
            if (i == 1)
            {
                Write(entry, nameof(DomainAuditEntry.Reason), "withdrawn_by_mistake");
            }

            if (rehash == "unkeyed-sha256")
            {
                Write(entry, nameof(DomainAuditEntry.KeyId), null);
            }

            var canonical = Encoding.UTF8.GetBytes(entry.Canonical());
            Write(entry, nameof(DomainAuditEntry.Hash), Convert.ToHexStringLower(
                rehash == "hmac-under-a-guessed-key" ? HMACSHA256.HashData(guessedKey, canonical) : SHA256.HashData(canonical)));
            await TamperAsync(database, appeal.UserId,
                "UPDATE audit_entries SET reason = @reason, key_id = @key_id, previous_hash = @previous_hash, hash = @hash WHERE id = @id;",
                ("reason", entry.Reason), ("key_id", (object?)entry.KeyId ?? DBNull.Value), ("previous_hash", entry.PreviousHash!),
                ("hash", entry.Hash), ("id", entry.Id));
        }

        var verified = await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = appeal.UserId });

        Assert.Equal((false, 4L, 2L, expected), (verified.Valid, verified.EntriesChecked, verified.FirstBrokenSequence, verified.BreakReason));
    }

    [Fact]
    public async Task Entries_under_a_rotated_out_key_verify_while_it_is_a_previous_key_and_are_reported_unknown_without_it()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        var oldKey = ScoringApp.AuditKey;
        var newKey = Convert.ToBase64String("the next audit chain key, 32 byt"u8);
        var oldKeyId = Domain.Audit.AuditKey.IdOf(Convert.FromBase64String(oldKey));
        string userId;
        using (var before = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString))
        {
            userId = (await AppealedViolationAsync(before)).UserId;
        }

        using (var rotated = new ScoringApp(Settings(newKey, ("Audit:PreviousKeys:" + oldKeyId, oldKey))))
        {
            await rotated.Scoring.RecordViolationAsync(Violation(userId, "spam", Severity.Low));
            var entries = (await rotated.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { UserId = userId })).Entries;
            Assert.Equal([oldKeyId, oldKeyId, Domain.Audit.AuditKey.IdOf(Convert.FromBase64String(newKey))], entries.Select(e => e.KeyId));
            Assert.True((await rotated.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = userId })).Valid);
        }

        using var forgotten = new ScoringApp(Settings(newKey));
        var verified = await forgotten.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = userId });

        Assert.Equal((false, 1L, AuditChainBreak.UnknownKey, oldKeyId),
            (verified.Valid, verified.FirstBrokenSequence, verified.BreakReason, verified.UnknownKeyId));

        Dictionary<string, string?> Settings(string key, params (string Name, string Value)[] more)
        {
            var settings = new Dictionary<string, string?>
            {
                ["Database:Provider"] = "Postgres",
                ["ConnectionStrings:Scoring"] = database,
                ["ConnectionStrings:Redis"] = servers.Redis.ConnectionString,
                ["Audit:ChainKey"] = key,
            };
            foreach (var (name, value) in more)
            {
                settings[name] = value;
            }

            return settings;
        }
    }

    [Fact]
    public void In_Production_the_service_refuses_to_start_without_an_audit_key()
    {
        using var app = new ScoringApp(new() { ["Audit:ChainKey"] = null }, environment: "Production");

        var error = Assert.ThrowsAny<OptionsValidationException>(() => app.Server);

        Assert.StartsWith("Audit__ChainKey is not set: outside Development and Testing (this is Production)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Audit:ChainKey", "c2hvcnQ=", "Audit__ChainKey must be base64 of at least 32 random bytes")]
    [InlineData("Audit:ChainKey", "not base64 at all, though long enough", "Audit__ChainKey must be base64")]
    [InlineData("Audit:PreviousKeys:0123456789abcdef", "c2NvcmluZy10ZXN0cy1hdWRpdC1jaGFpbi1rZXktMzI=", "Audit__PreviousKeys__0123456789abcdef holds the key whose id is")]
    public void A_malformed_audit_key_stops_start_up(string setting, string value, string expected)
    {
        using var app = new ScoringApp(new() { [setting] = value });

        var error = Assert.ThrowsAny<OptionsValidationException>(() => app.Server);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_Testing_without_an_audit_key_the_service_chains_with_the_development_key_and_warns()
    {
        var directory = Directory.CreateTempSubdirectory("scoring-devkey-").FullName;
        using var app = new ScoringApp(new()
        {
            ["Audit:ChainKey"] = null,
            ["ConnectionStrings:Scoring"] = $"Data Source={Path.Combine(directory, "scoring.db")}",
        });

        var appeal = await AppealedViolationAsync(app);

        var developmentKeyId = Domain.Audit.AuditKey.IdOf(Convert.FromBase64String(AuditOptions.DevelopmentKey));
        var entries = (await app.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { UserId = appeal.UserId })).Entries;
        Assert.All(entries, e => Assert.Equal(developmentKeyId, e.KeyId));
        Assert.Contains(app.Logs.Entries, e => e.Level == LogLevel.Warning
            && e.Message.Contains("Audit__ChainKey is not set", StringComparison.Ordinal)
            && e.Message.Contains(developmentKeyId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_chain_written_before_keys_verifies_once_sealed_and_is_sealed_only_if_it_verifies_as_written()
    {
        var database = await servers.Postgres.CreateDatabaseAsync();
        using var app = ScoringApp.OnPostgres(database, servers.Redis.ConnectionString);
        var intact = (await AppealedViolationAsync(app)).UserId;
        var edited = (await AppealedViolationAsync(app)).UserId;

        // Both chains as an install before keys wrote them: unkeyed, SHA-256 over the audit-v1 encoding,
        // with the lock row's head as the upgrade's migration fills it in. The second is then edited.
        await RewriteAsUnkeyedAsync(database, intact);
        await RewriteAsUnkeyedAsync(database, edited);
        await TamperAsync(database, edited, "UPDATE audit_entries SET reason = 'edited' WHERE user_id = @user AND sequence = 1;");
        Assert.Equal(AuditChainBreak.Unkeyed, (await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = intact })).BreakReason);

        await using var scope = app.Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<Api.Features.Audit.AuditChainSealer>().SealAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, result.Sealed);
        Assert.Equal([edited], result.Broken);
        var verified = await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = intact });
        Assert.Equal((true, 3L), (verified.Valid, verified.EntriesChecked));
        var entries = (await app.Audit.ListAuditEntriesAsync(new ListAuditEntriesRequest { UserId = intact })).Entries;
        Assert.Equal(("audit.sealed", 2L), (entries[^1].Action, entries[^1].ItemCount));
        Assert.False((await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = edited })).Valid);

        // The chain goes on from the sealed head, and a second run finds nothing left to seal.
        await app.Scoring.RecordViolationAsync(Violation(intact, "spam", Severity.Low));
        Assert.True((await app.Audit.VerifyAuditChainAsync(new VerifyAuditChainRequest { UserId = intact })).Valid);
        Assert.Equal(0, (await scope.ServiceProvider.GetRequiredService<Api.Features.Audit.AuditChainSealer>().SealAsync(TestContext.Current.CancellationToken)).Sealed);
    }

    private static async Task RewriteAsUnkeyedAsync(string database, string userId)
    {
        var entries = await AuditEntriesAsync(database, userId);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            Write(entry, nameof(DomainAuditEntry.KeyId), null);
            Write(entry, nameof(DomainAuditEntry.PreviousHash), i == 0 ? null : entries[i - 1].Hash);
            Write(entry, nameof(DomainAuditEntry.Hash), Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(entry.Canonical()))));
            await TamperAsync(database, userId,
                "UPDATE audit_entries SET key_id = NULL, previous_hash = @previous_hash, hash = @hash WHERE id = @id;",
                ("previous_hash", (object?)entry.PreviousHash ?? DBNull.Value), ("hash", entry.Hash), ("id", entry.Id));
        }

        await TamperAsync(database, userId, "UPDATE user_score_versions SET audit_hash = @hash WHERE user_id = @user;", ("hash", entries[^1].Hash));
    }

    private static async Task<List<DomainAuditEntry>> AuditEntriesAsync(string database, string userId)
    {
        await using var db = new PostgresScoringDbContext((DbContextOptions<PostgresScoringDbContext>)new DbContextOptionsBuilder<PostgresScoringDbContext>()
            .UseScoringDatabase(DatabaseProvider.Postgres, database).Options);
        return await db.AuditEntries.AsNoTracking().Where(e => e.UserId == userId).OrderBy(e => e.Sequence)
            .ToListAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Sets a field of a loaded entry, as a row written straight to the database would hold it.</summary>
    private static void Write(DomainAuditEntry entry, string property, object? value) =>
        typeof(DomainAuditEntry).GetProperty(property)!.SetValue(entry, value);

    /// <summary>Runs SQL as a superuser who has switched triggers off for the session.</summary>
    private static async Task TamperAsync(string database, string userId, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand("SET session_replication_role = replica; " + sql, connection);
        command.Parameters.AddWithValue("user", userId);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

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
