using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Scoring.Api.Infrastructure.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class StandingFeed : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "standing",
                table: "user_score_versions",
                type: "integer",
                nullable: false,
                defaultValue: 1);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "standing_drops_at",
                table: "user_score_versions",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "standing_changes",
                columns: table => new
                {
                    sequence = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    transaction_id = table.Column<long>(type: "bigint", nullable: false, defaultValueSql: "(pg_current_xact_id()::text)::bigint"),
                    user_id = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    previous_standing = table.Column<int>(type: "integer", nullable: false),
                    standing = table.Column<int>(type: "integer", nullable: false),
                    points = table.Column<double>(type: "double precision", nullable: false),
                    permanent = table.Column<bool>(type: "boolean", nullable: false),
                    cause = table.Column<int>(type: "integer", nullable: false),
                    changed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    policy_version = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    recorded_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_standing_changes", x => x.sequence);
                });

            migrationBuilder.CreateTable(
                name: "standing_drops",
                columns: table => new
                {
                    user_id = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    due_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_standing_drops", x => x.user_id);
                });

            migrationBuilder.CreateTable(
                name: "standing_feed_compaction",
                columns: table => new
                {
                    id = table.Column<int>(type: "integer", nullable: false),
                    transaction_id = table.Column<long>(type: "bigint", nullable: false),
                    sequence = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_standing_feed_compaction", x => x.id);
                });

            migrationBuilder.InsertData(
                table: "standing_feed_compaction",
                columns: new[] { "id", "sequence", "transaction_id" },
                values: new object[] { 1, 0L, 0L });

            migrationBuilder.CreateIndex(
                name: "ix_standing_changes_recorded_at",
                table: "standing_changes",
                column: "recorded_at");

            migrationBuilder.CreateIndex(
                name: "ix_standing_changes_revision",
                table: "standing_changes",
                columns: new[] { "transaction_id", "sequence" });

            migrationBuilder.CreateIndex(
                name: "ix_standing_changes_user",
                table: "standing_changes",
                column: "user_id");

            // Users written before the feed existed: their standing was never recorded (0, not GOOD),
            // so each is due for the scan, which records it without a change entry, then follows it.
            migrationBuilder.Sql("UPDATE user_score_versions SET standing = 0;");
            migrationBuilder.Sql("INSERT INTO standing_drops (user_id, due_at) SELECT user_id, '2000-01-01T00:00:00Z' FROM user_score_versions;");

            migrationBuilder.CreateIndex(
                name: "ix_standing_drops_due_at",
                table: "standing_drops",
                column: "due_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "standing_changes");

            migrationBuilder.DropTable(
                name: "standing_drops");

            migrationBuilder.DropTable(
                name: "standing_feed_compaction");

            migrationBuilder.DropColumn(
                name: "standing",
                table: "user_score_versions");

            migrationBuilder.DropColumn(
                name: "standing_drops_at",
                table: "user_score_versions");
        }
    }
}
