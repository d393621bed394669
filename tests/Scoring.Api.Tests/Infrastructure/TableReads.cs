using Microsoft.EntityFrameworkCore;
using Scoring.Api.Infrastructure.Persistence;

namespace Scoring.Api.Tests.Infrastructure;

/// <summary>
/// What the current transaction has read of a table and its indexes, by PostgreSQL's own counters (held
/// in the backend until they are flushed, so read before and after within one transaction): a query's
/// cost that does not depend on how fast the machine is, for tests that hold a query to a bound however
/// large its table grows.
/// </summary>
public static class TableReads
{
    /// <summary>Buffer reads (hits included) of <paramref name="table"/> and its indexes so far.</summary>
    public static Task<long> BlocksAsync(ScoringDbContext db, string table) =>
        db.Database.SqlQuery<long>($"""
            SELECT coalesce(sum(pg_stat_get_xact_blocks_fetched(c.oid)), 0)::bigint AS "Value" FROM pg_class AS c
            WHERE c.oid = {table}::regclass OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = {table}::regclass)
            """).SingleAsync(TestContext.Current.CancellationToken);
}
