using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class PolicyJobs : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "policy_jobs",
                columns: table => new
                {
                    id = table.Column<string>(type: "TEXT", maxLength: 36, nullable: false),
                    kind = table.Column<int>(type: "INTEGER", nullable: false),
                    state = table.Column<int>(type: "INTEGER", nullable: false),
                    candidate_version = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    baseline_version = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    as_of = table.Column<long>(type: "INTEGER", nullable: true),
                    requested_by = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    not_before = table.Column<long>(type: "INTEGER", nullable: false),
                    updated_at = table.Column<long>(type: "INTEGER", nullable: false),
                    finished_at = table.Column<long>(type: "INTEGER", nullable: true),
                    users_total = table.Column<long>(type: "INTEGER", nullable: false),
                    users_done = table.Column<long>(type: "INTEGER", nullable: false),
                    cursor = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true),
                    result = table.Column<string>(type: "TEXT", nullable: true),
                    lease_owner = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    lease_until = table.Column<long>(type: "INTEGER", nullable: true),
                    failure = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true),
                    revision = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_policy_jobs", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_policy_jobs_state_created",
                table: "policy_jobs",
                columns: new[] { "state", "created_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "policy_jobs");
        }
    }
}
