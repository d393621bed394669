using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ReportRollups : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "report_appeals",
                columns: table => new
                {
                    appeal_id = table.Column<string>(type: "character varying(36)", maxLength: 36, nullable: false),
                    category = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    automated = table.Column<bool>(type: "boolean", nullable: false),
                    submitted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    due_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    state = table.Column<int>(type: "integer", nullable: false),
                    closed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_report_appeals", x => x.appeal_id);
                });

            migrationBuilder.CreateTable(
                name: "report_standing_entries",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    user_key = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    standing = table.Column<int>(type: "integer", nullable: false),
                    permanent = table.Column<bool>(type: "boolean", nullable: false),
                    day = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_report_standing_entries", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "report_tallies",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    day = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    kind = table.Column<int>(type: "integer", nullable: false),
                    category = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    severity = table.Column<int>(type: "integer", nullable: false),
                    automated = table.Column<bool>(type: "boolean", nullable: false),
                    source = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    count = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_report_tallies", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_violations_recorded_at",
                table: "violations",
                columns: new[] { "recorded_at", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_report_appeals_closed_at",
                table: "report_appeals",
                column: "closed_at");

            migrationBuilder.CreateIndex(
                name: "ix_report_appeals_submitted_at",
                table: "report_appeals",
                column: "submitted_at");

            migrationBuilder.CreateIndex(
                name: "ix_report_standing_entries_day",
                table: "report_standing_entries",
                columns: new[] { "day", "standing" });

            migrationBuilder.CreateIndex(
                name: "ix_report_standing_entries_user",
                table: "report_standing_entries",
                column: "user_key");

            migrationBuilder.CreateIndex(
                name: "ix_report_tallies_kind_day",
                table: "report_tallies",
                columns: new[] { "kind", "day" });

            // What reports count of the history already held: violations by day, appeals, and the
            // entries into restrictive standings the feed still holds (it keeps days, not years).
            migrationBuilder.Sql("""
                INSERT INTO report_tallies (day, kind, category, severity, automated, source, count)
                SELECT date_trunc('day', recorded_at, 'UTC'), 1, category, reported_severity, automated, source, count(*)
                FROM violations GROUP BY date_trunc('day', recorded_at, 'UTC'), category, reported_severity, automated, source;
                INSERT INTO report_appeals (appeal_id, category, automated, submitted_at, due_at, state, closed_at)
                SELECT a.id, v.category, v.automated, a.submitted_at, a.due_at, a.state,
                       CASE WHEN a.state IN (1, 2) THEN NULL ELSE a.decided_at END
                FROM appeals a JOIN violations v ON v.id = a.violation_id;
                INSERT INTO report_standing_entries (user_key, standing, permanent, day)
                SELECT user_id, standing, permanent, date_trunc('day', recorded_at, 'UTC')
                FROM standing_changes
                WHERE standing >= 2 AND (standing > previous_standing OR (permanent AND standing = 5));
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "report_appeals");

            migrationBuilder.DropTable(
                name: "report_standing_entries");

            migrationBuilder.DropTable(
                name: "report_tallies");

            migrationBuilder.DropIndex(
                name: "ix_violations_recorded_at",
                table: "violations");
        }
    }
}
