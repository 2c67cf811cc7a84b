using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace MultimodalHub.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Instances : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Instance",
                table: "Runs",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Instance",
                table: "ApiKeys",
                type: "integer",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Instance",
                table: "Runs");

            migrationBuilder.DropColumn(
                name: "Instance",
                table: "ApiKeys");
        }
    }
}
