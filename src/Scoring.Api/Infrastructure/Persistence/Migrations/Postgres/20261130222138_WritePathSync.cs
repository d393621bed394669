using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class WritePathSync : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "audit_at",
                table: "user_score_versions",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "audit_hash",
                table: "user_score_versions",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "audit_sequence",
                table: "user_score_versions",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);
            // Existing data: every user with an audit chain gets a lock row (erasures used to delete it),
            // and each row learns where its chain continues.
            migrationBuilder.Sql(@"
INSERT INTO user_score_versions (user_id, version, audit_sequence)
SELECT DISTINCT e.user_id, 0, 0 FROM audit_entries AS e
WHERE NOT EXISTS (SELECT 1 FROM user_score_versions AS u WHERE u.user_id = e.user_id);

UPDATE user_score_versions SET
  audit_sequence = COALESCE((SELECT max(e.sequence) FROM audit_entries AS e WHERE e.user_id = user_score_versions.user_id), 0),
  audit_hash = (SELECT e.hash FROM audit_entries AS e WHERE e.user_id = user_score_versions.user_id ORDER BY e.sequence DESC LIMIT 1),
  audit_at = (SELECT e.occurred_at FROM audit_entries AS e WHERE e.user_id = user_score_versions.user_id ORDER BY e.sequence DESC LIMIT 1);
");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "audit_at",
                table: "user_score_versions");

            migrationBuilder.DropColumn(
                name: "audit_hash",
                table: "user_score_versions");

            migrationBuilder.DropColumn(
                name: "audit_sequence",
                table: "user_score_versions");
        }
    }
}
