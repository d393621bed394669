using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Postgres
{
    /// <summary>
    /// Indexes violations by occurred_at for the retention purge, without blocking writes
    /// (<see cref="ConcurrentIndexes"/>).
    /// </summary>
    public partial class ViolationOccurredIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder) =>
            ConcurrentIndexes.Create(migrationBuilder, "ix_violations_occurred_at", "ON violations (occurred_at, id)");

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder) =>
            ConcurrentIndexes.Drop(migrationBuilder, "ix_violations_occurred_at");
    }
}
