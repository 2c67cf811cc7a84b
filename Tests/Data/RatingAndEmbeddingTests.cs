using System.Text;
using System.Text.Json;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Data;

public abstract class RatingAndEmbeddingTests(TestDatabase database)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Elo_ranks_the_consistently_preferred_model_first()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var images = new List<string>();
        for (var i = 0; i < 6; i++)
            images.Add((await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, new SKColor((byte)(40 * i), 0, 0)), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256);

        // best beats mid and worst every time; mid beats worst 3 of 4; one tie.
        async Task Vote(string a, string b, AbWinner w, int ia, int ib)
        {
            await hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "a red star", new(images[ia], Contender: a), new(images[ib], Contender: b), w, ct: Ct);
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        for (var round = 0; round < 4; round++)
        {
            await Vote("sd-best", "sd-mid", round % 2 == 0 ? AbWinner.A : AbWinner.A, 0, 1);
            await Vote("sd-worst", "sd-best", AbWinner.B, 2, 3);
            await Vote("sd-mid", "sd-worst", round == 3 ? AbWinner.B : AbWinner.A, 4, 5);
        }
        await Vote("sd-mid", "sd-worst", AbWinner.Tie, 4, 5);

        var ranking = await hub.Ratings.EloRankingAsync(OwnerScope.Local, ct: Ct);
        Assert.Equal(["sd-best", "sd-mid", "sd-worst"], ranking.Select(e => e.Contender));
        Assert.Equal((8, 0, 0), (ranking[0].Wins, ranking[0].Losses, ranking[0].Ties));
        Assert.Equal(1, ranking[2].Ties);
        Assert.Equal(1500 * 3, ranking.Sum(e => e.Rating), 6); // Elo is zero-sum
        Assert.True(ranking[0].Rating > 1550);
    }

    [Fact]
    public async Task Arena_text_votes_rank_chat_contenders_export_as_arena_pairs_and_both_bad_counts_as_a_tie()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var run = await hub.Runs.CreateAsync(new(RunKind.Chat, "shapes-chat", "name a shape") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(run.Id, new(Text: "a red circle"), Ct);
        const string greedy = "shapes-chat · temperature 0 · top-p 1 · 64 tokens", hot = "shapes-chat · temperature 1 · top-p 1 · 64 tokens";

        var vote = await hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "name a shape",
            AbCandidate.OfText("a red circle", greedy, run.Id), AbCandidate.OfText("circle circle blue", hot), AbWinner.A, Ct);
        clock.Advance(TimeSpan.FromSeconds(1));
        await hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "name a colour", AbCandidate.OfText("red", hot), AbCandidate.OfText("", greedy), AbWinner.BothBad, Ct);

        var stored = (await hub.Ratings.ListAbVotesAsync(OwnerScope.Local, Ct))[0];
        Assert.Equal((vote.Id, "a red circle", "circle circle blue", (string?)null, (string?)null, (long?)run.Id),
            (stored.Id, stored.TextA, stored.TextB, stored.ImageA, stored.ImageB, stored.RunA));
        var ranking = await hub.Ratings.EloRankingAsync(OwnerScope.Local, ct: Ct);
        Assert.Equal([greedy, hot], ranking.Select(e => e.Contender));
        Assert.Equal((1, 0, 1), (ranking[0].Wins, ranking[0].Losses, ranking[0].Ties));
        Assert.Equal((0, 1, 1), (ranking[1].Wins, ranking[1].Losses, ranking[1].Ties));
        Assert.Equal(3000, ranking.Sum(e => e.Rating), 6);
        var pair = Assert.Single(await hub.Ratings.PreferencePairsAsync(OwnerScope.Local, Ct)); // both bad is no pair
        Assert.Equal(new PreferencePair("name a shape", "a red circle", "circle circle blue", greedy, hot, "arena", stored.Created), pair);

        // An image against a text, a side with both or neither, and another owner's run are refused.
        var image = (await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Red), Owner.LocalId, Ct)).Sha256;
        await Assert.ThrowsAnyAsync<ArgumentException>(() => hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "x", new(image, Contender: "p"), AbCandidate.OfText("t", "q"), AbWinner.A, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "x", new(image, Contender: "p", Text: "t"), AbCandidate.OfText("t", "q"), AbWinner.A, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "x", new(null, Contender: "p"), AbCandidate.OfText("t", "q"), AbWinner.A, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => hub.Ratings.RecordAbVoteAsync(new OwnerScope("someone-else"), "x",
            AbCandidate.OfText("t", "p", run.Id), AbCandidate.OfText("u", "q"), AbWinner.A, Ct));
        Assert.Equal(2, (await hub.Ratings.ListAbVotesAsync(OwnerScope.Local, Ct)).Count);
    }

    [Fact]
    public async Task Image_and_text_rankings_count_only_their_own_votes()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var red = (await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Red), Owner.LocalId, Ct)).Sha256;
        var blue = (await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Blue), Owner.LocalId, Ct)).Sha256;
        await hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "a red star", new(red, Contender: "sd · 8 steps"), new(blue, Contender: "sd · 20 steps"), AbWinner.A, Ct);
        clock.Advance(TimeSpan.FromSeconds(1));
        await hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "name a shape", AbCandidate.OfText("circle", "chat · greedy"), AbCandidate.OfText("", "chat · hot"), AbWinner.B, Ct);

        Assert.Equal(["sd · 8 steps", "sd · 20 steps"], (await hub.Ratings.EloRankingAsync(OwnerScope.Local, AbVoteKind.Image, ct: Ct)).Select(e => e.Contender));
        Assert.Equal(["chat · hot", "chat · greedy"], (await hub.Ratings.EloRankingAsync(OwnerScope.Local, AbVoteKind.Text, ct: Ct)).Select(e => e.Contender));
        Assert.Equal(4, (await hub.Ratings.EloRankingAsync(OwnerScope.Local, ct: Ct)).Count);
    }

    [Fact]
    public async Task Preference_export_writes_the_right_pairs_as_jsonl()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var red = (await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Red), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256;
        var blue = (await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Blue), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256;
        var runA = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "a red star") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(runA.Id, new(OutputImages: [red]), Ct);
        var runB = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd-turbo", "a red star") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(runB.Id, new(OutputImages: [blue]), Ct);

        await hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "a red star", new(red, runA.Id), new(blue, runB.Id), AbWinner.A, ct: Ct);
        await hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "a red star", new(red, runA.Id), new(blue, runB.Id), AbWinner.Tie, ct: Ct);
        await hub.Ratings.RecordAbVoteAsync(OwnerScope.Local, "a blue star", new(red, Contender: "x"), new(blue, Contender: "y"), AbWinner.B, ct: Ct);

        // Thumbs: two captions of the same image/prompt, one up, one down → one text pair.
        var good = await hub.Runs.CreateAsync(new(RunKind.Vqa, "shapes-vlm", "what colour is the star?") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(good.Id, new(Text: "red"), Ct);
        var bad = await hub.Runs.CreateAsync(new(RunKind.Vqa, "shapes-vlm", "what colour is the star?") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(bad.Id, new(Text: "green"), Ct);
        Assert.True(await hub.Ratings.SetThumbAsync(good.Id, Thumb.Up, OwnerScope.Local, Ct));
        Assert.True(await hub.Ratings.SetThumbAsync(bad.Id, Thumb.Down, OwnerScope.Local, Ct));

        using var output = new MemoryStream();
        Assert.Equal(3, await hub.Ratings.ExportPreferencePairsAsync(output, OwnerScope.Local, ct: Ct));
        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        var pairs = lines.Select(l => JsonDocument.Parse(l).RootElement).Select(e => (
            Prompt: e.GetProperty("prompt").GetString(), Chosen: e.GetProperty("chosen").GetString(),
            Rejected: e.GetProperty("rejected").GetString(), ChosenModel: e.GetProperty("chosen_model").GetString(),
            Source: e.GetProperty("source").GetString())).ToList();
        Assert.Contains(("a red star", red, blue, "sd-shapes", "ab"), pairs);
        Assert.Contains(("a blue star", blue, red, "y", "ab"), pairs);
        Assert.Contains(("what colour is the star?", "red", "green", "shapes-vlm", "thumbs"), pairs);
    }

    [Fact]
    public async Task Nearest_embedding_search_ranks_the_closest_first()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var shas = new List<string>();
        for (var i = 0; i < 5; i++)
            shas.Add((await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, new SKColor(0, (byte)(50 * i), 0)), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256);

        float[][] vectors =
        [
            [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [0.9f, 0.1f, 0, 0, 0, 0, 0, 0, 0, 0],
            [0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
            [-1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [0.5f, 0.5f, 0.5f, 0, 0, 0, 0, 0, 0, 0],
        ];
        for (var i = 0; i < shas.Count; i++)
            await hub.Embeddings.UpsertAsync(shas[i], "clip-shapes", vectors[i], Ct);
        await hub.Embeddings.UpsertAsync(shas[2], "other-model", new float[] { 1, 0, 0 }, Ct);

        var nearest = await hub.Embeddings.NearestAsync("clip-shapes", new float[] { 2, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 3, Ct);
        Assert.Equal([shas[0], shas[1], shas[4]], nearest.Select(n => n.ImageSha256));
        Assert.Equal(1f, nearest[0].Score, 5);
        Assert.True(nearest[1].Score > nearest[2].Score);

        Assert.Equal(vectors[3], await hub.Embeddings.GetAsync(shas[3], "clip-shapes", Ct));
        await hub.Embeddings.UpsertAsync(shas[3], "clip-shapes", vectors[0], Ct); // upsert replaces
        Assert.Equal(vectors[0], await hub.Embeddings.GetAsync(shas[3], "clip-shapes", Ct));
        Assert.Equal(shas.Where((_, i) => i != 2).Order(), (await hub.Embeddings.MissingAsync("other-model", ct: Ct)).Order());
        await Assert.ThrowsAsync<ArgumentException>(() => hub.Embeddings.UpsertAsync(shas[0], "clip-shapes", new[] { float.NaN }, Ct));
    }

    [Fact]
    public async Task Semantic_hits_map_to_the_newest_gallery_item_in_similarity_order()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var a = (await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Red), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256;
        var b = (await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Blue), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256;
        var orphan = (await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Green), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256;
        var old = await hub.Runs.CreateAsync(new(RunKind.Classify, "clip-shapes", "x", InputImages: [a]) { OwnerId = Owner.LocalId }, Ct);
        clock.Advance(TimeSpan.FromMinutes(1));
        var newer = await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", InputImages: [a]) { OwnerId = Owner.LocalId }, Ct);
        var other = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "y") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(other.Id, new(OutputImages: [b]), Ct);

        var items = await hub.Runs.GalleryItemsForImagesAsync([b, orphan, a], OwnerScope.Local, ct: Ct);
        Assert.Equal([(other.Id, b), (newer.Id, a)], items.Select(i => (i.RunId, i.ImageSha256)));
        Assert.Empty(await hub.Runs.GalleryItemsForImagesAsync([a, b], new OwnerScope("someone-else"), Ct));
        Assert.NotEqual(old.Id, items[1].RunId);

        // With a filter, each image maps to its newest run that matches it: `a` is still found through its older
        // classify run although its newest run is a caption.
        var classify = new RunQuery { Owner = OwnerScope.Local, Kind = RunKind.Classify };
        Assert.Equal([(old.Id, a)], (await hub.Runs.GalleryItemsForImagesAsync([b, a], classify, Ct)).Select(i => (i.RunId, i.ImageSha256)));
        Assert.Empty(await hub.Runs.GalleryItemsForImagesAsync([a, b], classify with { Model = "sd-shapes" }, Ct));
    }
}

public sealed class RatingAndEmbeddingTestsOnSqlite() : RatingAndEmbeddingTests(TestDatabase.Sqlite);

[Collection(PostgresServer.Collection)]
public sealed class RatingAndEmbeddingTestsOnPostgres(PostgresServer server) : RatingAndEmbeddingTests(server);
