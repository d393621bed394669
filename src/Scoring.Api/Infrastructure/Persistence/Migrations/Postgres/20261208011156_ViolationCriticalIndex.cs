using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Postgres
{
    /// <summary>
    /// Indexes each user's CRITICAL violations, so the score's read finds the zero-tolerance ones past
    /// max_age without reading every older violation of the user. Built as ViolationOccurredIndex is:
    /// concurrently, outside a transaction, and finished by a second run if the first stopped partway.
    /// </summary>
    public partial class ViolationCriticalIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                DO $$
                BEGIN
                  IF EXISTS (SELECT 1 FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
                             WHERE c.relname = 'ix_violations_user_critical' AND c.relnamespace = current_schema()::regnamespace
                               AND NOT i.indisvalid) THEN
                    DROP INDEX ix_violations_user_critical;
                  END IF;
                END $$
                """,
                suppressTransaction: true);
            migrationBuilder.Sql(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_violations_user_critical ON violations (user_id) WHERE severity = 4",
                suppressTransaction: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX CONCURRENTLY IF EXISTS ix_violations_user_critical", suppressTransaction: true);
        }
    }
}
