using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Postgres
{
    /// <summary>
    /// Indexes each user's CRITICAL violations, so the score's read finds the zero-tolerance ones past
    /// max_age without reading every older violation of the user; built without blocking writes
    /// (<see cref="ConcurrentIndexes"/>).
    /// </summary>
    public partial class ViolationCriticalIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder) =>
            ConcurrentIndexes.Create(migrationBuilder, "ix_violations_user_critical", "ON violations (user_id) WHERE severity = 4");

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder) =>
            ConcurrentIndexes.Drop(migrationBuilder, "ix_violations_user_critical");
    }
}
