using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// Drops the pooled connections when a command's failure shows its connection, and likely its siblings,
/// can no longer do the work, so the caller's retry (the call answers UNAVAILABLE, see
/// <see cref="DatabaseErrors.IsConnectionUnusable"/>) opens a new one:
/// <list type="bullet">
/// <item>SQLSTATE 25006: the server no longer takes writes (a primary demoted to a standby in a switchover,
/// still up). New connections, with Target Session Attributes=read-write, find the new primary.</item>
/// <item>SQLSTATE 42P05 or 26000 on an automatically prepared statement: Npgsql's record of the statements
/// it prepared on the connection no longer matches the server's (seen after PostgreSQL restarted under
/// load), and every later command that prepares or uses that name fails the same way on that connection.</item>
/// <item>SQLSTATE 0A000 from <c>RevalidateCachedQuery</c>: a migration changed the shape of a prepared
/// statement's result; every pooled connection that prepared it would fail once, new ones prepare it anew.</item>
/// </list>
/// </summary>
public sealed class UnusableConnectionInterceptor : DbCommandInterceptor
{
    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => ClearIfUnusable(command, eventData.Exception);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        ClearIfUnusable(command, eventData.Exception);
        return Task.CompletedTask;
    }

    private static void ClearIfUnusable(DbCommand command, Exception exception)
    {
        if (DatabaseErrors.IsConnectionUnusable(exception) && command.Connection is NpgsqlConnection connection)
        {
            NpgsqlConnection.ClearPool(connection);
        }
    }
}
