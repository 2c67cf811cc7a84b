using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Contracts;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Components.Pages;
using MultimodalHub.Web.Services;

namespace MultimodalHub.Tests.Web;

/// <summary>Semantic gallery search with the real CLIP model: the embedding backfill stores each image's own vector even
/// when an earlier image's bytes are missing from the blob folder.</summary>
public sealed class GallerySemanticTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    [Fact]
    public async Task Backfill_skips_an_image_without_bytes_and_gives_the_others_their_own_embeddings()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var health = await ctx.Services.GetRequiredService<InferenceHealth>().CheckNowAsync(Ct);
        var clip = health.FirstOf(ModelKind.Clip)!.Id;
        var blobs = ctx.Services.GetRequiredService<IBlobStore>();
        var runs = ctx.Services.GetRequiredService<IRunStore>();
        var stored = new List<(string Sha, string Golden)>();
        foreach (var name in new[] { "image0", "image1", "image2" })
        {
            var image = await ctx.PutGoldenAsync("clip-shapes", name + ".png");
            await runs.CreateAsync(new NewRun(RunKind.Classify, clip, "shapes", InputImages: [image.Sha256]) { OwnerId = Owner.LocalId }, Ct);
            stored.Add((image.Sha256, name));
            await Task.Delay(20, Ct); // distinct creation times: the backfill takes images oldest first
        }
        // The oldest image's bytes are gone (its row stays).
        foreach (var file in Directory.GetFiles(ctx.BlobPath, stored[0].Sha + ".*", SearchOption.AllDirectories)) File.Delete(file);

        ctx.Services.GetRequiredService<NavigationManager>().NavigateTo("gallery?q=a%20red%20circle");
        var page = ctx.Render<Gallery>();
        await page.InvokeAsync(() => page.Find("input[data-testid=semantic], [data-testid=semantic] input").Change(true));

        var embeddings = ctx.Services.GetRequiredService<IEmbeddingStore>();
        for (var i = 0; i < 300 && await embeddings.GetAsync(stored[2].Sha, clip, Ct) is null; i++) await Task.Delay(50, Ct);
        Assert.Null(await embeddings.GetAsync(stored[0].Sha, clip, Ct));
        foreach (var (sha, golden) in stored.Skip(1))
        {
            var vector = await embeddings.GetAsync(sha, clip, Ct);
            Assert.NotNull(vector);
            var own = NpyArray.Load(Repo.Model("clip-shapes", "goldens", golden + "_image_embeds.npy")).Data;
            Assert.True(Cosine(vector, own) > 0.999, $"{golden}: cosine to its own golden embedding is {Cosine(vector, own)}");
        }
    }

    private static double Cosine(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }
}
