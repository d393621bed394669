using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AppealsAndAudit : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "appeal_id",
                table: "violations",
                type: "TEXT",
                maxLength: 36,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "appeal_state",
                table: "violations",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "reported_severity",
                table: "violations",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateTable(
                name: "appeals",
                columns: table => new
                {
                    id = table.Column<string>(type: "TEXT", maxLength: 36, nullable: false),
                    violation_id = table.Column<string>(type: "TEXT", maxLength: 36, nullable: false),
                    user_id = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    state = table.Column<int>(type: "INTEGER", nullable: false),
                    statement = table.Column<string>(type: "TEXT", maxLength: 5000, nullable: false),
                    submitted_at = table.Column<long>(type: "INTEGER", nullable: false),
                    due_at = table.Column<long>(type: "INTEGER", nullable: false),
                    assignee = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true),
                    decided_at = table.Column<long>(type: "INTEGER", nullable: true),
                    decided_by = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true),
                    decision = table.Column<int>(type: "INTEGER", nullable: false),
                    rationale = table.Column<string>(type: "TEXT", maxLength: 5000, nullable: true),
                    new_severity = table.Column<int>(type: "INTEGER", nullable: false),
                    request_id = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_appeals", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "audit_entries",
                columns: table => new
                {
                    id = table.Column<string>(type: "TEXT", maxLength: 36, nullable: false),
                    user_id = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    sequence = table.Column<long>(type: "INTEGER", nullable: false),
                    occurred_at = table.Column<long>(type: "INTEGER", nullable: false),
                    actor = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    action = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    target_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    reason = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    before_state = table.Column<string>(type: "TEXT", maxLength: 32, nullable: true),
                    after_state = table.Column<string>(type: "TEXT", maxLength: 32, nullable: true),
                    before_severity = table.Column<int>(type: "INTEGER", nullable: false),
                    after_severity = table.Column<int>(type: "INTEGER", nullable: false),
                    before_points = table.Column<double>(type: "REAL", nullable: false),
                    after_points = table.Column<double>(type: "REAL", nullable: false),
                    hash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    previous_hash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_entries", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_appeals_queue",
                table: "appeals",
                columns: new[] { "state", "submitted_at", "id" });

            migrationBuilder.CreateIndex(
                name: "ux_appeals_user_request",
                table: "appeals",
                columns: new[] { "user_id", "request_id" },
                unique: true,
                filter: "request_id IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ux_appeals_violation_current",
                table: "appeals",
                column: "violation_id",
                unique: true,
                filter: "state <> 6");

            migrationBuilder.CreateIndex(
                name: "ix_audit_entries_target",
                table: "audit_entries",
                columns: new[] { "target_id", "sequence" });

            migrationBuilder.CreateIndex(
                name: "ux_audit_entries_user_sequence",
                table: "audit_entries",
                columns: new[] { "user_id", "sequence" },
                unique: true);

            // Violations recorded before this migration were never reduced: what was reported is what they are.
            migrationBuilder.Sql("UPDATE violations SET reported_severity = severity;");

            // The audit trail is append-only: refuse UPDATE and DELETE at the database itself.
            migrationBuilder.Sql(@"
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: UPDATE is not allowed'); END;");
            migrationBuilder.Sql(@"
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: DELETE is not allowed'); END;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER IF EXISTS audit_entries_no_delete;");
            migrationBuilder.Sql("DROP TRIGGER IF EXISTS audit_entries_no_update;");

            migrationBuilder.DropTable(
                name: "appeals");

            migrationBuilder.DropTable(
                name: "audit_entries");

            migrationBuilder.DropColumn(
                name: "appeal_id",
                table: "violations");

            migrationBuilder.DropColumn(
                name: "appeal_state",
                table: "violations");

            migrationBuilder.DropColumn(
                name: "reported_severity",
                table: "violations");
        }
    }
}
