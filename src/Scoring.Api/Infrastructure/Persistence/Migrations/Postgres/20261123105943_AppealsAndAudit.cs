using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Postgres
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
                type: "character varying(36)",
                maxLength: 36,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "appeal_state",
                table: "violations",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "reported_severity",
                table: "violations",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateTable(
                name: "appeals",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(36)", maxLength: 36, nullable: false),
                    violation_id = table.Column<string>(type: "character varying(36)", maxLength: 36, nullable: false),
                    user_id = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    state = table.Column<int>(type: "integer", nullable: false),
                    statement = table.Column<string>(type: "character varying(5000)", maxLength: 5000, nullable: false),
                    submitted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    due_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    assignee = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    decided_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    decided_by = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    decision = table.Column<int>(type: "integer", nullable: false),
                    rationale = table.Column<string>(type: "character varying(5000)", maxLength: 5000, nullable: true),
                    new_severity = table.Column<int>(type: "integer", nullable: false),
                    request_id = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_appeals", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "audit_entries",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(36)", maxLength: 36, nullable: false),
                    user_id = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    sequence = table.Column<long>(type: "bigint", nullable: false),
                    occurred_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    actor = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    action = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    target_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    reason = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    before_state = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    after_state = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    before_severity = table.Column<int>(type: "integer", nullable: false),
                    after_severity = table.Column<int>(type: "integer", nullable: false),
                    before_points = table.Column<double>(type: "double precision", nullable: false),
                    after_points = table.Column<double>(type: "double precision", nullable: false),
                    hash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    previous_hash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true)
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

            // The audit trail is append-only: refuse UPDATE, DELETE and TRUNCATE at the database itself.
            migrationBuilder.Sql(@"
CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entries is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_entries_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only();");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(@"
DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries;
DROP TRIGGER IF EXISTS audit_entries_no_update_or_delete ON audit_entries;
DROP FUNCTION IF EXISTS audit_entries_append_only();");

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
