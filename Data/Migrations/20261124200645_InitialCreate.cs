using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace MultimodalHub.Data.Migrations
{
    /// <inheritdoc />
    public partial class InitialCreate : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Images",
                columns: table => new
                {
                    Sha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Width = table.Column<int>(type: "INTEGER", nullable: false),
                    Height = table.Column<int>(type: "INTEGER", nullable: false),
                    MimeType = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    ByteSize = table.Column<long>(type: "INTEGER", nullable: false),
                    Created = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Images", x => x.Sha256);
                });

            migrationBuilder.CreateTable(
                name: "Owners",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    DisplayName = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Created = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Owners", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Embeddings",
                columns: table => new
                {
                    ImageSha256 = table.Column<string>(type: "TEXT", nullable: false),
                    ModelId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Dimensions = table.Column<int>(type: "INTEGER", nullable: false),
                    Vector = table.Column<byte[]>(type: "BLOB", nullable: false),
                    Created = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Embeddings", x => new { x.ImageSha256, x.ModelId });
                    table.ForeignKey(
                        name: "FK_Embeddings_Images_ImageSha256",
                        column: x => x.ImageSha256,
                        principalTable: "Images",
                        principalColumn: "Sha256",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "ChatSessions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    OwnerId = table.Column<string>(type: "TEXT", nullable: false),
                    Title = table.Column<string>(type: "TEXT", nullable: false),
                    Model = table.Column<string>(type: "TEXT", nullable: false),
                    SystemPrompt = table.Column<string>(type: "TEXT", nullable: true),
                    ParametersJson = table.Column<string>(type: "TEXT", nullable: false),
                    Created = table.Column<long>(type: "INTEGER", nullable: false),
                    Updated = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ChatSessions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ChatSessions_Owners_OwnerId",
                        column: x => x.OwnerId,
                        principalTable: "Owners",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "ShareLinks",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Token = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    OwnerId = table.Column<string>(type: "TEXT", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Title = table.Column<string>(type: "TEXT", nullable: true),
                    Created = table.Column<long>(type: "INTEGER", nullable: false),
                    ExpiresAt = table.Column<long>(type: "INTEGER", nullable: true),
                    Revoked = table.Column<bool>(type: "INTEGER", nullable: false),
                    RevokedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    ViewCount = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ShareLinks", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ShareLinks_Owners_OwnerId",
                        column: x => x.OwnerId,
                        principalTable: "Owners",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "Runs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    OwnerId = table.Column<string>(type: "TEXT", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Model = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Prompt = table.Column<string>(type: "TEXT", nullable: true),
                    NegativePrompt = table.Column<string>(type: "TEXT", nullable: true),
                    ParametersJson = table.Column<string>(type: "TEXT", nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Error = table.Column<string>(type: "TEXT", nullable: true),
                    Created = table.Column<long>(type: "INTEGER", nullable: false),
                    Started = table.Column<long>(type: "INTEGER", nullable: true),
                    Finished = table.Column<long>(type: "INTEGER", nullable: true),
                    TimingsJson = table.Column<string>(type: "TEXT", nullable: true),
                    OutputText = table.Column<string>(type: "TEXT", nullable: true),
                    LabelScoresJson = table.Column<string>(type: "TEXT", nullable: true),
                    Favourite = table.Column<bool>(type: "INTEGER", nullable: false),
                    Rating = table.Column<int>(type: "INTEGER", nullable: false),
                    ChatSessionId = table.Column<long>(type: "INTEGER", nullable: true),
                    ParentRunId = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Runs", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Runs_ChatSessions_ChatSessionId",
                        column: x => x.ChatSessionId,
                        principalTable: "ChatSessions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "FK_Runs_Owners_OwnerId",
                        column: x => x.OwnerId,
                        principalTable: "Owners",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_Runs_Runs_ParentRunId",
                        column: x => x.ParentRunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "AbVotes",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    OwnerId = table.Column<string>(type: "TEXT", nullable: false),
                    Prompt = table.Column<string>(type: "TEXT", nullable: false),
                    ImageA = table.Column<string>(type: "TEXT", nullable: false),
                    ImageB = table.Column<string>(type: "TEXT", nullable: false),
                    RunA = table.Column<long>(type: "INTEGER", nullable: true),
                    RunB = table.Column<long>(type: "INTEGER", nullable: true),
                    ContenderA = table.Column<string>(type: "TEXT", nullable: false),
                    ContenderB = table.Column<string>(type: "TEXT", nullable: false),
                    Winner = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    Created = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AbVotes", x => x.Id);
                    table.ForeignKey(
                        name: "FK_AbVotes_Images_ImageA",
                        column: x => x.ImageA,
                        principalTable: "Images",
                        principalColumn: "Sha256",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_AbVotes_Images_ImageB",
                        column: x => x.ImageB,
                        principalTable: "Images",
                        principalColumn: "Sha256",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_AbVotes_Owners_OwnerId",
                        column: x => x.OwnerId,
                        principalTable: "Owners",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_AbVotes_Runs_RunA",
                        column: x => x.RunA,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "FK_AbVotes_Runs_RunB",
                        column: x => x.RunB,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "ChatMessages",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    SessionId = table.Column<long>(type: "INTEGER", nullable: false),
                    Position = table.Column<int>(type: "INTEGER", nullable: false),
                    Role = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Content = table.Column<string>(type: "TEXT", nullable: false),
                    ImageSha256 = table.Column<string>(type: "TEXT", nullable: true),
                    RunId = table.Column<long>(type: "INTEGER", nullable: true),
                    Created = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ChatMessages", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ChatMessages_ChatSessions_SessionId",
                        column: x => x.SessionId,
                        principalTable: "ChatSessions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_ChatMessages_Images_ImageSha256",
                        column: x => x.ImageSha256,
                        principalTable: "Images",
                        principalColumn: "Sha256",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_ChatMessages_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "RunImages",
                columns: table => new
                {
                    RunId = table.Column<long>(type: "INTEGER", nullable: false),
                    Role = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    Position = table.Column<int>(type: "INTEGER", nullable: false),
                    ImageSha256 = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RunImages", x => new { x.RunId, x.Role, x.Position });
                    table.ForeignKey(
                        name: "FK_RunImages_Images_ImageSha256",
                        column: x => x.ImageSha256,
                        principalTable: "Images",
                        principalColumn: "Sha256",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_RunImages_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "ShareLinkItems",
                columns: table => new
                {
                    ShareLinkId = table.Column<long>(type: "INTEGER", nullable: false),
                    Position = table.Column<int>(type: "INTEGER", nullable: false),
                    RunId = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ShareLinkItems", x => new { x.ShareLinkId, x.Position });
                    table.ForeignKey(
                        name: "FK_ShareLinkItems_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_ShareLinkItems_ShareLinks_ShareLinkId",
                        column: x => x.ShareLinkId,
                        principalTable: "ShareLinks",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.InsertData(
                table: "Owners",
                columns: new[] { "Id", "Created", "DisplayName" },
                values: new object[] { "local", 0L, "Local user" });

            migrationBuilder.CreateIndex(
                name: "IX_AbVotes_Created",
                table: "AbVotes",
                column: "Created");

            migrationBuilder.CreateIndex(
                name: "IX_AbVotes_ImageA",
                table: "AbVotes",
                column: "ImageA");

            migrationBuilder.CreateIndex(
                name: "IX_AbVotes_ImageB",
                table: "AbVotes",
                column: "ImageB");

            migrationBuilder.CreateIndex(
                name: "IX_AbVotes_OwnerId",
                table: "AbVotes",
                column: "OwnerId");

            migrationBuilder.CreateIndex(
                name: "IX_AbVotes_RunA",
                table: "AbVotes",
                column: "RunA");

            migrationBuilder.CreateIndex(
                name: "IX_AbVotes_RunB",
                table: "AbVotes",
                column: "RunB");

            migrationBuilder.CreateIndex(
                name: "IX_ChatMessages_ImageSha256",
                table: "ChatMessages",
                column: "ImageSha256");

            migrationBuilder.CreateIndex(
                name: "IX_ChatMessages_RunId",
                table: "ChatMessages",
                column: "RunId");

            migrationBuilder.CreateIndex(
                name: "IX_ChatMessages_SessionId_Position",
                table: "ChatMessages",
                columns: new[] { "SessionId", "Position" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_ChatSessions_OwnerId_Updated",
                table: "ChatSessions",
                columns: new[] { "OwnerId", "Updated" });

            migrationBuilder.CreateIndex(
                name: "IX_Embeddings_ModelId",
                table: "Embeddings",
                column: "ModelId");

            migrationBuilder.CreateIndex(
                name: "IX_Images_Created",
                table: "Images",
                column: "Created");

            migrationBuilder.CreateIndex(
                name: "IX_RunImages_ImageSha256",
                table: "RunImages",
                column: "ImageSha256");

            migrationBuilder.CreateIndex(
                name: "IX_Runs_ChatSessionId",
                table: "Runs",
                column: "ChatSessionId");

            migrationBuilder.CreateIndex(
                name: "IX_Runs_Kind_Created",
                table: "Runs",
                columns: new[] { "Kind", "Created" });

            migrationBuilder.CreateIndex(
                name: "IX_Runs_Model",
                table: "Runs",
                column: "Model");

            migrationBuilder.CreateIndex(
                name: "IX_Runs_OwnerId_Created",
                table: "Runs",
                columns: new[] { "OwnerId", "Created" });

            migrationBuilder.CreateIndex(
                name: "IX_Runs_ParentRunId",
                table: "Runs",
                column: "ParentRunId");

            migrationBuilder.CreateIndex(
                name: "IX_Runs_Status",
                table: "Runs",
                column: "Status");

            migrationBuilder.CreateIndex(
                name: "IX_ShareLinkItems_RunId",
                table: "ShareLinkItems",
                column: "RunId");

            migrationBuilder.CreateIndex(
                name: "IX_ShareLinks_OwnerId_Created",
                table: "ShareLinks",
                columns: new[] { "OwnerId", "Created" });

            migrationBuilder.CreateIndex(
                name: "IX_ShareLinks_Token",
                table: "ShareLinks",
                column: "Token",
                unique: true);

            // Full-text search over runs (SQLite FTS5, external content on "Runs", kept in sync by triggers).
            migrationBuilder.Sql("""
                CREATE VIRTUAL TABLE "RunSearch" USING fts5(
                    "Prompt", "NegativePrompt", "OutputText", "Model",
                    content='Runs', content_rowid='Id', tokenize='unicode61 remove_diacritics 2');
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "Runs_SearchInsert" AFTER INSERT ON "Runs" BEGIN
                    INSERT INTO "RunSearch"(rowid, "Prompt", "NegativePrompt", "OutputText", "Model")
                    VALUES (new."Id", new."Prompt", new."NegativePrompt", new."OutputText", new."Model");
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "Runs_SearchDelete" AFTER DELETE ON "Runs" BEGIN
                    INSERT INTO "RunSearch"("RunSearch", rowid, "Prompt", "NegativePrompt", "OutputText", "Model")
                    VALUES ('delete', old."Id", old."Prompt", old."NegativePrompt", old."OutputText", old."Model");
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "Runs_SearchUpdate" AFTER UPDATE OF "Prompt", "NegativePrompt", "OutputText", "Model" ON "Runs" BEGIN
                    INSERT INTO "RunSearch"("RunSearch", rowid, "Prompt", "NegativePrompt", "OutputText", "Model")
                    VALUES ('delete', old."Id", old."Prompt", old."NegativePrompt", old."OutputText", old."Model");
                    INSERT INTO "RunSearch"(rowid, "Prompt", "NegativePrompt", "OutputText", "Model")
                    VALUES (new."Id", new."Prompt", new."NegativePrompt", new."OutputText", new."Model");
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "Runs_SearchUpdate";""");
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "Runs_SearchDelete";""");
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "Runs_SearchInsert";""");
            migrationBuilder.Sql("""DROP TABLE IF EXISTS "RunSearch";""");
            migrationBuilder.DropTable(
                name: "AbVotes");

            migrationBuilder.DropTable(
                name: "ChatMessages");

            migrationBuilder.DropTable(
                name: "Embeddings");

            migrationBuilder.DropTable(
                name: "RunImages");

            migrationBuilder.DropTable(
                name: "ShareLinkItems");

            migrationBuilder.DropTable(
                name: "Images");

            migrationBuilder.DropTable(
                name: "Runs");

            migrationBuilder.DropTable(
                name: "ShareLinks");

            migrationBuilder.DropTable(
                name: "ChatSessions");

            migrationBuilder.DropTable(
                name: "Owners");
        }
    }
}
