using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Sqlite
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
                    appeal_id = table.Column<string>(type: "TEXT", maxLength: 36, nullable: false),
                    category = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    automated = table.Column<bool>(type: "INTEGER", nullable: false),
                    submitted_at = table.Column<long>(type: "INTEGER", nullable: false),
                    due_at = table.Column<long>(type: "INTEGER", nullable: false),
                    state = table.Column<int>(type: "INTEGER", nullable: false),
                    closed_at = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_report_appeals", x => x.appeal_id);
                });

            migrationBuilder.CreateTable(
                name: "report_standing_entries",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    user_key = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    standing = table.Column<int>(type: "INTEGER", nullable: false),
                    permanent = table.Column<bool>(type: "INTEGER", nullable: false),
                    day = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_report_standing_entries", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "report_tallies",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    day = table.Column<long>(type: "INTEGER", nullable: false),
                    kind = table.Column<int>(type: "INTEGER", nullable: false),
                    category = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    severity = table.Column<int>(type: "INTEGER", nullable: false),
                    automated = table.Column<bool>(type: "INTEGER", nullable: false),
                    source = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    count = table.Column<long>(type: "INTEGER", nullable: false)
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
                SELECT recorded_at - recorded_at % 864000000000, 1, category, reported_severity, automated, source, count(*)
                FROM violations GROUP BY recorded_at - recorded_at % 864000000000, category, reported_severity, automated, source;
                INSERT INTO report_appeals (appeal_id, category, automated, submitted_at, due_at, state, closed_at)
                SELECT a.id, v.category, v.automated, a.submitted_at, a.due_at, a.state,
                       CASE WHEN a.state IN (1, 2) THEN NULL ELSE a.decided_at END
                FROM appeals a JOIN violations v ON v.id = a.violation_id;
                INSERT INTO report_standing_entries (user_key, standing, permanent, day)
                SELECT user_id, standing, permanent, recorded_at - recorded_at % 864000000000
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
