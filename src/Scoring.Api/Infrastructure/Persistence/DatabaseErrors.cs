using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>Classifies provider exceptions without leaking provider types into features.</summary>
public static class DatabaseErrors
{
    private const string PostgresUniqueViolation = "23505";
    private const string LockNotAvailable = "55P03";
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintUnique = 2067;
    private const int SqliteConstraintPrimaryKey = 1555;

    /// <summary>A unique index refused the write: the row already exists.</summary>
    public static bool IsUniqueViolation(Exception exception) => Chain(exception).Any(e => e switch
    {
        PostgresException pg => pg.SqlState == PostgresUniqueViolation,
        SqliteException sqlite => sqlite.SqliteErrorCode == SqliteConstraint
            && sqlite.SqliteExtendedErrorCode is SqliteConstraintUnique or SqliteConstraintPrimaryKey,
        _ => false,
    });

    /// <summary>The unique (source, event_id) index refused the write: another transaction recorded the event.</summary>
    public static bool IsDuplicateEvent(Exception exception) =>
        IsUniqueViolation(exception) && Chain(exception).Any(e => e switch
        {
            PostgresException pg => pg.ConstraintName == "ux_violations_source_event_id",
            SqliteException sqlite => sqlite.Message.Contains("violations.source, violations.event_id", StringComparison.Ordinal),
            _ => false,
        });

    /// <summary>The unique (user_id, sequence) index refused an audit entry: the chain's head was not where the lock row said.</summary>
    public static bool IsAuditSequenceTaken(Exception exception) =>
        IsUniqueViolation(exception) && Chain(exception).Any(e => e switch
        {
            PostgresException pg => pg.ConstraintName == "ux_audit_entries_user_sequence",
            SqliteException sqlite => sqlite.Message.Contains("audit_entries.user_id, audit_entries.sequence", StringComparison.Ordinal),
            _ => false,
        });

    /// <summary>A table the model expects does not exist: the database is not migrated yet.</summary>
    public static bool IsUndefinedTable(Exception exception) => Chain(exception).Any(e => e switch
    {
        PostgresException pg => pg.SqlState == "42P01",
        SqliteException sqlite => sqlite.SqliteErrorCode == 1 && sqlite.Message.Contains("no such table", StringComparison.Ordinal),
        _ => false,
    });

    /// <summary>The database cannot be reached or is not accepting work: worth a retry later.</summary>
    public static bool IsUnavailable(Exception exception) => Chain(exception).Any(e => e switch
    {
        // Classes 08 (connection), 53 (insufficient resources) and 57P (operator intervention: a shutdown,
        // a crash of another backend, a server starting); 40001/40P01, a serialization failure or deadlock;
        // a connection the UnusableConnectionInterceptor drops, so a retry gets another; 57014, a statement
        // cancelled by statement_timeout or an operator, as Npgsql's own command timeout is; and those of
        // Npgsql's transient errors that EF Core would otherwise wrap into an unmapped exception: 55P03, a
        // lock wait past lock_timeout, 55006, an object in use, and 58000/58030, system and I/O errors.
        // Not 55000, which names a bug or a setting a retry keeps.
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal)
            || pg.SqlState is "40001" or "40P01" or "57014" or LockNotAvailable or "55006" or "58000" or "58030"
            || IsConnectionUnusable(pg),
        NpgsqlException => true,
        // BUSY, LOCKED, IOERR, FULL, CANTOPEN.
        SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6 or 10 or 13 or 14,
        SocketException or TimeoutException => true,
        _ => false,
    });

    /// <summary>
    /// The command's connection cannot do the work any more, though the database can: its server became a
    /// standby in a switchover (25006); the driver's record of the statements it prepared on it no longer
    /// matches the server's (42P05, 26000; the service prepares no statement by name itself); or a schema
    /// change since a statement was prepared changed the shape of its result (0A000 from
    /// <c>RevalidateCachedQuery</c>, "cached plan must not change result type": a newer release migrated the
    /// database in a rolling upgrade), which every pooled connection holding that statement would meet once.
    /// </summary>
    public static bool IsConnectionUnusable(Exception exception) =>
        Chain(exception).Any(e => e is PostgresException { SqlState: "25006" or "42P05" or "26000" }
            or PostgresException { SqlState: "0A000", Routine: "RevalidateCachedQuery" });

    /// <summary>
    /// A lock wait passed the server's lock_timeout: one row is held elsewhere (a long transaction), not
    /// the database being away, so only the writes that need that row should fail.
    /// </summary>
    public static bool IsLockNotAvailable(Exception exception) =>
        Chain(exception).Any(e => e is PostgresException { SqlState: LockNotAvailable });

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }
}
