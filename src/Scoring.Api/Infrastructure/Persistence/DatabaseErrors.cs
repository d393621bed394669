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

    /// <summary>The database cannot be reached or is not accepting work: worth a retry later.</summary>
    public static bool IsUnavailable(Exception exception) => Chain(exception).Any(e => e switch
    {
        // Connection-level classes: 08 connection exception, 53 insufficient resources, 57P operator intervention.
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal),
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
