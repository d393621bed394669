using Microsoft.EntityFrameworkCore.Migrations;

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Postgres;

/// <summary>
/// Indexes that migrations build without blocking writes: concurrently, outside a transaction, so replicas
/// keep writing while they build. A build that stopped partway (the migrate Job's deadline, a lost
/// connection) may have left the index invalid, or valid with no history row; either way running migrate
/// again finishes the work instead of failing on the name.
/// </summary>
internal static class ConcurrentIndexes
{
    /// <param name="name">The index's name.</param>
    /// <param name="definition">What follows the name in <c>CREATE INDEX</c>: <c>ON table (columns) [WHERE ...]</c>.</param>
    public static void Create(MigrationBuilder migrationBuilder, string name, string definition)
    {
        migrationBuilder.Sql(
            $"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
                         WHERE c.relname = '{name}' AND c.relnamespace = current_schema()::regnamespace
                           AND NOT i.indisvalid) THEN
                DROP INDEX {name};
              END IF;
            END $$
            """,
            suppressTransaction: true);
        migrationBuilder.Sql($"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}", suppressTransaction: true);
    }

    public static void Drop(MigrationBuilder migrationBuilder, string name) =>
        migrationBuilder.Sql($"DROP INDEX CONCURRENTLY IF EXISTS {name}", suppressTransaction: true);
}
