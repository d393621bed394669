using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>Classifies provider exceptions without leaking provider types into features.</summary>
public static class DatabaseErrors
{
    private const string PostgresUniqueViolation = "23505";
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
        // Npgsql's own list of errors a retry may clear (IsTransient: connection exceptions, insufficient
        // resources, cannot connect now, system and I/O errors, serialization failures, lock not available
        // under a lock_timeout, object in use or not in the required state, as a server being promoted
        // can answer), and besides: every 08 connection exception, 53 insufficient resources and 57P
        // operator intervention (a shutdown, a crash of another backend); 40P01, a deadlock, which a
        // retry resolves; and 25006, a write on a server that became a standby in a switchover (a retry
        // finds the new primary). Anything else (a constraint, a type, a missing table) is not the
        // database being away, and stays an error.
        PostgresException pg => pg.IsTransient
            || pg.SqlState.StartsWith("08", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal)
            || pg.SqlState is "40001" or "40P01" or "25006",
        NpgsqlException => true,
        // BUSY, LOCKED, IOERR, FULL, CANTOPEN.
        SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6 or 10 or 13 or 14,
        SocketException or TimeoutException => true,
        _ => false,
    });

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }
}
