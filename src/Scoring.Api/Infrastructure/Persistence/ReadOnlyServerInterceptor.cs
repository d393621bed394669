using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Scoring.Api.Infrastructure.Persistence;

/// <summary>
/// A command refused because its server no longer takes writes (SQLSTATE 25006: a primary demoted to a
/// standby in a switchover, still up) means every pooled connection to that server is as useless for
/// writes. The pool is cleared, so the caller's retry (the call answers UNAVAILABLE) opens new
/// connections, which a multi-host connection string with Target Session Attributes=read-write points
/// at the new primary.
/// </summary>
public sealed class ReadOnlyServerInterceptor : DbCommandInterceptor
{
    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => ClearIfReadOnly(command, eventData.Exception);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        ClearIfReadOnly(command, eventData.Exception);
        return Task.CompletedTask;
    }

    private static void ClearIfReadOnly(DbCommand command, Exception exception)
    {
        if (exception is PostgresException { SqlState: PostgresErrorCodes.ReadOnlySqlTransaction } && command.Connection is NpgsqlConnection connection)
        {
            NpgsqlConnection.ClearPool(connection);
        }
    }
}
