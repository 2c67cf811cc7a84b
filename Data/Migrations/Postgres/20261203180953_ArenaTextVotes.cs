using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace MultimodalHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ArenaTextVotes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "ImageB",
                table: "AbVotes",
                type: "character varying(64)",
                nullable: true,
                oldClrType: typeof(string),
                oldType: "character varying(64)");

            migrationBuilder.AlterColumn<string>(
                name: "ImageA",
                table: "AbVotes",
                type: "character varying(64)",
                nullable: true,
                oldClrType: typeof(string),
                oldType: "character varying(64)");

            migrationBuilder.AddColumn<string>(
                name: "TextA",
                table: "AbVotes",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "TextB",
                table: "AbVotes",
                type: "text",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "TextA",
                table: "AbVotes");

            migrationBuilder.DropColumn(
                name: "TextB",
                table: "AbVotes");

            migrationBuilder.AlterColumn<string>(
                name: "ImageB",
                table: "AbVotes",
                type: "character varying(64)",
                nullable: false,
                defaultValue: "",
                oldClrType: typeof(string),
                oldType: "character varying(64)",
                oldNullable: true);

            migrationBuilder.AlterColumn<string>(
                name: "ImageA",
                table: "AbVotes",
                type: "character varying(64)",
                nullable: false,
                defaultValue: "",
                oldClrType: typeof(string),
                oldType: "character varying(64)",
                oldNullable: true);
        }
    }
}
