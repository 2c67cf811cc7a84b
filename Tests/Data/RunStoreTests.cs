using Microsoft.EntityFrameworkCore;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Data;

public abstract class RunStoreTests(TestDatabase database)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_lifecycle_stores_parameters_outputs_and_timestamps()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var run = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "a red star", "blurry",
            """{"seed": 42, "steps": 20, "guidance": 7.5, "scheduler": "euler"}""")
        { OwnerId = Owner.LocalId }, Ct);
        Assert.Equal(RunStatus.Queued, run.Status);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await hub.Runs.MarkRunningAsync(run.Id, Ct));
        clock.Advance(TimeSpan.FromSeconds(2));
        var output = await hub.Blobs.PutAsync(HubDataHarness.Png(64, 64, SKColors.Red), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        Assert.True(await hub.Runs.MarkSucceededAsync(run.Id, new(OutputImages: [output.Sha256], TimingsJson: """{"total_ms": 2000}"""), Ct));
        Assert.False(await hub.Runs.MarkFailedAsync(run.Id, "late failure", ct: Ct)); // finished runs stay finished

        var stored = await hub.Runs.GetAsync(run.Id, OwnerScope.Local, Ct);
        Assert.NotNull(stored);
        Assert.Equal(RunStatus.Succeeded, stored.Status);
        Assert.Equal("""{"seed":42,"steps":20,"guidance":7.5,"scheduler":"euler"}""", stored.ParametersJson);
        Assert.Equal(("a red star", "blurry"), (stored.Prompt, stored.NegativePrompt));
        Assert.Equal(clock.GetUtcNow().AddSeconds(-3), stored.Created);
        Assert.Equal(clock.GetUtcNow().AddSeconds(-2), stored.Started);
        Assert.Equal(clock.GetUtcNow(), stored.Finished);
        Assert.Equal("""{"total_ms":2000}""", stored.TimingsJson);
        var image = Assert.Single(stored.Images);
        Assert.Equal((RunImageRole.Output, output.Sha256, 64), (image.Role, image.ImageSha256, image.Image!.Width));
    }

    [Fact]
    public async Task Failed_and_cancelled_runs_are_kept_with_their_reason()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var failed = await hub.Runs.CreateAsync(new(RunKind.Chat, "shapes-chat", "hi") { OwnerId = Owner.LocalId }, Ct);
        var cancelled = await hub.Runs.CreateAsync(new(RunKind.Chat, "shapes-chat", "hello") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkRunningAsync(failed.Id, Ct);
        Assert.True(await hub.Runs.MarkFailedAsync(failed.Id, "inference service unreachable", ct: Ct));
        Assert.True(await hub.Runs.MarkCancelledAsync(cancelled.Id, ct: CancellationToken.None));

        var page = await hub.Runs.ListAsync(new RunQuery() { Owner = OwnerScope.Local }, Ct);
        Assert.Equal(2, page.Total);
        Assert.Equal("inference service unreachable", page.Items.Single(r => r.Id == failed.Id).Error);
        Assert.Equal(RunStatus.Cancelled, page.Items.Single(r => r.Id == cancelled.Id).Status);
        Assert.Equal(1, (await hub.Runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Status = RunStatus.Failed }, Ct)).Total);
    }

    [Fact]
    public async Task A_run_and_its_share_list_outputs_first_then_inputs_each_by_position()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var input0 = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Red), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var input1 = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Blue), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var output0 = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Green), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var output1 = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Yellow), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var run = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd", "x", InputImages: [input0.Sha256, input1.Sha256]) { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(run.Id, new(OutputImages: [output0.Sha256, output1.Sha256]), Ct);
        string[] expected = [output0.Sha256, output1.Sha256, input0.Sha256, input1.Sha256];

        Assert.Equal(expected, (await hub.Runs.GetAsync(run.Id, OwnerScope.Local, Ct))!.Images.Select(i => i.ImageSha256));
        var link = await hub.Shares.CreateAsync(new ShareRequest([run.Id]), Ct);
        Assert.Equal(expected, (await hub.Shares.ResolveAsync(link.Token, ct: Ct))!.Runs.Single().Images.Select(i => i.Sha256));
    }

    [Fact]
    public async Task Deleting_a_run_removes_its_blob_only_when_unreferenced()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var shared = await hub.Blobs.PutAsync(HubDataHarness.Png(16, 16, SKColors.Yellow), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var own = await hub.Blobs.PutAsync(HubDataHarness.Png(16, 16, SKColors.Cyan), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var first = await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", InputImages: [shared.Sha256, own.Sha256]) { OwnerId = Owner.LocalId }, Ct);
        var second = await hub.Runs.CreateAsync(new(RunKind.Classify, "clip-shapes", "circle,square", InputImages: [shared.Sha256]) { OwnerId = Owner.LocalId }, Ct);
        using (await hub.Blobs.OpenThumbnailAsync(own.Sha256, 32, Ct)) { }

        Assert.True(await hub.Runs.DeleteAsync(first.Id, OwnerScope.Local, Ct));
        Assert.Null(await hub.Runs.GetAsync(first.Id, OwnerScope.Local, Ct));
        Assert.NotNull(await hub.Blobs.GetAsync(shared.Sha256, Ct));   // still used by the second run
        Assert.True(BlobFileExists(hub, shared.Sha256));
        Assert.Null(await hub.Blobs.GetAsync(own.Sha256, Ct));         // nothing else used it
        Assert.False(BlobFileExists(hub, own.Sha256));

        Assert.True(await hub.Runs.DeleteAsync(second.Id, OwnerScope.Local, Ct));
        Assert.Null(await hub.Blobs.GetAsync(shared.Sha256, Ct));
        Assert.Empty(Directory.GetFiles(hub.BlobPath, "*", SearchOption.AllDirectories));
        Assert.False(await hub.Runs.DeleteAsync(second.Id, OwnerScope.Local, Ct));
    }

    [Fact]
    public async Task An_image_in_an_ab_vote_or_chat_message_survives_its_run()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var a = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Red), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var b = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Blue), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var c = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Green), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var run = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd", "x") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(run.Id, new(OutputImages: [a.Sha256, b.Sha256, c.Sha256]), Ct);
        await hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "x", new(a.Sha256, run.Id), new(b.Sha256, Contender: "other"), MultimodalHub.Data.Entities.AbWinner.A, ct: Ct);
        var chat = await hub.Chats.CreateSessionAsync(OwnerScope.Local, "shapes-vlm", ct: Ct);
        await hub.Chats.AppendAsync(chat.Id, new("user", "what is this?", c.Sha256), OwnerScope.Local, Ct);

        Assert.True(await hub.Runs.DeleteAsync(run.Id, OwnerScope.Local, Ct));
        Assert.NotNull(await hub.Blobs.GetAsync(a.Sha256, Ct));
        Assert.NotNull(await hub.Blobs.GetAsync(b.Sha256, Ct));
        Assert.NotNull(await hub.Blobs.GetAsync(c.Sha256, Ct));
        Assert.Null((await hub.Ratings.ListAbVotesAsync(OwnerScope.Local, ct: Ct)).Single().RunA); // the vote stays, its run link is cleared

        var chatRun = await hub.Runs.CreateAsync(new(RunKind.Vqa, "shapes-vlm", "what is this?", ChatSessionId: chat.Id) { OwnerId = Owner.LocalId }, Ct);
        Assert.True(await hub.Chats.DeleteAsync(chat.Id, OwnerScope.Local, Ct));
        Assert.Null(await hub.Chats.GetAsync(chat.Id, OwnerScope.Local, Ct));
        Assert.Null(await hub.Blobs.GetAsync(c.Sha256, Ct));                      // only the chat used it
        Assert.Null((await hub.Runs.GetAsync(chatRun.Id, OwnerScope.Local, Ct))!.ChatSessionId);    // the run stays in history
    }

    [Fact]
    public async Task Full_text_search_finds_prompts_and_outputs_by_word_prefix()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var star = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "a red star on white") { OwnerId = Owner.LocalId }, Ct);
        var caption = await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(caption.Id, new(Text: "A blue triangle in the corner"), Ct);
        await hub.Runs.CreateAsync(new(RunKind.Chat, "shapes-chat", "tell me about squares") { OwnerId = Owner.LocalId }, Ct);
        var cafe = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "un café crème") { OwnerId = Owner.LocalId }, Ct);

        Assert.Equal([star.Id], await Search(hub, "red star"));
        Assert.Equal([star.Id], await Search(hub, "STA"));          // prefix, case-insensitive
        Assert.Equal([caption.Id], await Search(hub, "triangle"));  // output text, indexed on update
        Assert.Empty(await Search(hub, "red triangle"));            // all words must match
        Assert.Empty(await Search(hub, "\"unbalanced NEAR( * OR"));   // FTS syntax in user text is inert
        Assert.Empty(await Search(hub, "star') | !('zzz"));          // and so is tsquery syntax
        Assert.Equal([cafe.Id], await Search(hub, "CAFE creme"));   // diacritics folded, both ways
        Assert.Equal([cafe.Id], await Search(hub, "crème"));
        Assert.Equal(4, (await hub.Runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Text = "  " }, Ct)).Total);

        await hub.Runs.DeleteAsync(star.Id, OwnerScope.Local, Ct);
        Assert.Empty(await Search(hub, "star"));
    }

    [Fact]
    public async Task Filters_paging_and_gallery()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var ids = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            var model = i % 2 == 0 ? "sd-shapes" : "sd-turbo";
            var run = await hub.Runs.CreateAsync(new(RunKind.Imagine, model, $"shape {i}") { OwnerId = Owner.LocalId }, Ct);
            var img = await hub.Blobs.PutAsync(HubDataHarness.Png(8 + i, 8, SKColors.White), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
            await hub.Runs.MarkSucceededAsync(run.Id, new(OutputImages: [img.Sha256]), Ct);
            ids.Add(run.Id);
            clock.Advance(TimeSpan.FromDays(1));
        }
        await hub.Runs.CreateAsync(new(RunKind.Chat, "shapes-chat", "hi") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.SetFavouriteAsync(ids[3], true, OwnerScope.Local, Ct);

        Assert.Equal(11, (await hub.Runs.ListAsync(new RunQuery() { Owner = OwnerScope.Local }, Ct)).Total);
        Assert.Equal(10, (await hub.Runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Kind = RunKind.Imagine }, Ct)).Total);
        Assert.Equal(5, (await hub.Runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Model = "sd-turbo" }, Ct)).Total);
        Assert.Equal([ids[3]], (await hub.Runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, FavouritesOnly = true }, Ct)).Items.Select(r => r.Id));
        var start = new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero);
        var window = await hub.Runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, From = start, To = start.AddDays(2) }, Ct);
        Assert.Equal([ids[3], ids[2]], window.Items.Select(r => r.Id)); // newest first
        Assert.Equal(["sd-shapes", "sd-turbo", "shapes-chat"], await hub.Runs.ListModelsAsync(OwnerScope.Local, ct: Ct));

        var page = await hub.Runs.ListGalleryAsync(new RunQuery { Owner = OwnerScope.Local, Skip = 2, Take = 3 }, Ct);
        Assert.Equal(10, page.Total); // the chat run has no image
        Assert.Equal([ids[7], ids[6], ids[5]], page.Items.Select(g => g.RunId));
        Assert.All(page.Items, g => Assert.Equal(RunImageRole.Output, g.Role));
        Assert.Equal(8 + 7, page.Items[0].Width);
    }

    [Fact]
    public async Task Unknown_images_and_bad_json_are_refused()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var missing = await Assert.ThrowsAsync<ImageNotStoredException>(() => hub.Runs.CreateAsync(new(RunKind.Caption, "m", InputImages: [new string('0', 64)]) { OwnerId = Owner.LocalId }, Ct));
        Assert.Equal(new string('0', 64), missing.Sha256);
        await Assert.ThrowsAsync<ArgumentException>(() => hub.Runs.CreateAsync(new(RunKind.Caption, "m", ParametersJson: "{not json") { OwnerId = Owner.LocalId }, Ct));
        await using var db = hub.NewContext();
        Assert.Equal(0, await db.Runs.CountAsync(Ct));
    }

    private static async Task<IEnumerable<long>> Search(HubDataHarness hub, string text) =>
        (await hub.Runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Text = text }, Ct)).Items.Select(r => r.Id);

    private static bool BlobFileExists(HubDataHarness hub, string sha) =>
        Directory.GetFiles(hub.BlobPath, sha + ".*", SearchOption.AllDirectories).Length > 0;
}

public sealed class RunStoreTestsOnSqlite() : RunStoreTests(TestDatabase.Sqlite);

[Collection(PostgresServer.Collection)]
public sealed class RunStoreTestsOnPostgres(PostgresServer server) : RunStoreTests(server);
