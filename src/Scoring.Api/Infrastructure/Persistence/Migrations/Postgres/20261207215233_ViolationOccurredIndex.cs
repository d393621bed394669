using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Postgres
{
    /// <summary>
    /// Indexes violations by occurred_at for the retention purge, without blocking writes: the build runs
    /// concurrently, outside a transaction, so replicas keep writing while it runs. A build that stopped
    /// partway (the migrate Job's deadline, a lost connection) may have left the index invalid, or valid with
    /// no history row; either way running migrate again finishes the work instead of failing on the name.
    /// </summary>
    public partial class ViolationOccurredIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                DO $$
                BEGIN
                  IF EXISTS (SELECT 1 FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
                             WHERE c.relname = 'ix_violations_occurred_at' AND c.relnamespace = current_schema()::regnamespace
                               AND NOT i.indisvalid) THEN
                    DROP INDEX ix_violations_occurred_at;
                  END IF;
                END $$
                """,
                suppressTransaction: true);
            migrationBuilder.Sql(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_violations_occurred_at ON violations (occurred_at, id)",
                suppressTransaction: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX CONCURRENTLY IF EXISTS ix_violations_occurred_at", suppressTransaction: true);
        }
    }
}
