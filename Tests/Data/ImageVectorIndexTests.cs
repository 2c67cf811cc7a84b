using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Data;

/// <summary>The image vector index behind IEmbeddingStore.NearestAsync on a real database: filters, and staying in step
/// with rows written by this process and by a second one on the same database.</summary>
public abstract class ImageVectorIndexTests(TestDatabase database)
{
    private const string Clip = "clip-shapes";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Filters_on_owner_kind_model_and_date_apply_before_ranking()
    {
        var t0 = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
        var clock = new ManualClock(t0);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        await using (var db = hub.NewContext())
        {
            db.Owners.Add(new Owner { Id = "alice", DisplayName = "Alice" });
            await db.SaveChangesAsync(Ct);
        }
        var img = new string[6];
        for (var i = 0; i < img.Length; i++)
        {
            var png = HubDataHarness.Png(8, 8, new SKColor((byte)(30 * i), 0, 0));
            img[i] = (await hub.Blobs.PutAsync(png, Owner.LocalId, Ct)).Sha256;
            await hub.Blobs.PutAsync(png, "alice", Ct); // alice has these bytes too (her runs may use them)
        }

        var imagine = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "a red circle") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(imagine.Id, new(OutputImages: [img[0], img[1]]), Ct);
        clock.Advance(TimeSpan.FromDays(2));
        await hub.Runs.CreateAsync(new(RunKind.Classify, Clip, "x", InputImages: [img[2]]) { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", InputImages: [img[3]]) { OwnerId = "alice" }, Ct);
        // img[4] is used by no run; img[5] by a local caption run and by alice's.
        await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", InputImages: [img[5]]) { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", InputImages: [img[5]]) { OwnerId = "alice" }, Ct);

        // Vectors: image i points along axis i, so a query along (1, .9, .8, ...) ranks them 0, 1, 2, ...
        for (var i = 0; i < img.Length; i++)
            await hub.Embeddings.UpsertAsync(img[i], Clip, Axis(i), Ct);
        float[] query = [1, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0, 0];

        async Task<string[]> Search(ImageVectorFilter filter, int k = 10) =>
            (await hub.Embeddings.NearestAsync(Clip, query, filter, k, Ct)).Select(n => n.ImageSha256).ToArray();

        Assert.Equal(img, await Search(ImageVectorFilter.None));
        Assert.Equal([img[0], img[1], img[2], img[5]], await Search(new()));                       // the local owner's
        Assert.Equal([img[3], img[5]], await Search(new("alice")));
        Assert.Equal([img[3]], await Search(new("alice"), k: 1));                                  // k of the owner's, not of all
        Assert.Equal([img[0], img[1]], await Search(new(Kind: RunKind.Imagine)));
        Assert.Equal([img[5]], await Search(new(Model: "shapes-vlm")));
        Assert.Equal([img[0], img[1]], await Search(new(To: t0.AddDays(1))));
        Assert.Equal([img[2], img[5]], await Search(new(From: t0.AddDays(1))));
        Assert.Empty(await Search(new(Kind: RunKind.Chat)));

        // A run deleted: its images leave the filtered results (and the vector leaves the index with the image).
        var runs = await hub.Runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Kind = RunKind.Classify }, Ct);
        await hub.Runs.DeleteAsync(runs.Items.Single().Id, OwnerScope.Local, Ct);
        Assert.Equal([img[0], img[1], img[5]], await Search(new()));
        Assert.DoesNotContain(img[2], await Search(ImageVectorFilter.None));
    }

    [Fact]
    public async Task Index_follows_rows_written_by_another_process_on_the_same_database()
    {
        await using var a = await HubDataHarness.StartAsync(database);
        await using var b = await HubDataHarness.StartAsync(database, directory: a.Directory);
        var first = await StoreRunWithImage(a, 0);
        await a.Embeddings.UpsertAsync(first, Clip, Axis(0), Ct);
        float[] query = [1, 0.9f, 0.8f, 0, 0, 0, 0, 0];
        async Task<string[]> Search(HubDataHarness hub) =>
            (await hub.Embeddings.NearestAsync(Clip, query, new ImageVectorFilter(), 10, Ct)).Select(n => n.ImageSha256).ToArray();
        Assert.Equal([first], await Search(a)); // a's index is loaded now

        // b adds a run, an image and its vector: a's next search finds them.
        var second = await StoreRunWithImage(b, 1);
        await b.Embeddings.UpsertAsync(second, Clip, Axis(1), Ct);
        Assert.Equal([first, second], await Search(a));

        // b replaces the first vector (now it points away from the query) and adds output images to an older run.
        await b.Embeddings.UpsertAsync(first, Clip, Axis(2), Ct);
        Assert.Equal([second, first], await Search(a));

        // b deletes the second run: its image and vector go, and a stops returning it.
        var runs = await b.Runs.ListAsync(new RunQuery() { Owner = OwnerScope.Local }, Ct);
        await b.Runs.DeleteAsync(runs.Items.Single(r => r.Prompt == "run 1").Id, OwnerScope.Local, Ct);
        Assert.Equal([first], await Search(a));
        Assert.Equal([first], (await a.Embeddings.NearestAsync(Clip, query, 10, Ct)).Select(n => n.ImageSha256));

        // A run of b's that gains output images later (an older run id) is seen as well.
        var late = await b.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "late") { OwnerId = Owner.LocalId }, Ct);
        await StoreRunWithImage(b, 3);
        var third = (await b.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Blue), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256;
        await b.Embeddings.UpsertAsync(third, Clip, Axis(0), Ct);
        Assert.DoesNotContain(third, await Search(a)); // stored but used by no run of the owner yet
        await b.Runs.MarkSucceededAsync(late.Id, new(OutputImages: [third]), Ct);
        Assert.Contains(third, await Search(a));
    }

    private static async Task<string> StoreRunWithImage(HubDataHarness hub, int i)
    {
        var sha = (await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, new SKColor(0, (byte)(40 * i), 10)), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256;
        await hub.Runs.CreateAsync(new(RunKind.Classify, Clip, $"run {i}", InputImages: [sha]) { OwnerId = Owner.LocalId }, Ct);
        return sha;
    }

    private static float[] Axis(int i)
    {
        var v = new float[8];
        v[i] = 1;
        return v;
    }
}

public sealed class ImageVectorIndexTestsOnSqlite() : ImageVectorIndexTests(TestDatabase.Sqlite);

[Collection(PostgresServer.Collection)]
public sealed class ImageVectorIndexTestsOnPostgres(PostgresServer server) : ImageVectorIndexTests(server);
