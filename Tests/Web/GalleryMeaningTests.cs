using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Contracts;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Components.Pages;
using MultimodalHub.Web.Services;

namespace MultimodalHub.Tests.Web;

/// <summary>
/// The gallery's search by meaning with the real MiniLM in the real inference host: old runs and chat messages are
/// backfilled, a run recorded through RunRecorder gets its vector, and the texts closest in meaning come first.
/// </summary>
[Collection(MiniLmGroup.Name)]
public sealed class GalleryMeaningTests(MiniLmFixture minilm)
{
    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    [Fact]
    public async Task Texts_are_found_by_meaning_not_by_words()
    {
        await using var ctx = await WebTestContext.StartAsync(minilm.Host.CreateClient());
        var health = await ctx.Services.GetRequiredService<InferenceHealth>().CheckNowAsync(Ct);
        Assert.Equal(MiniLmFixture.Id, health.FirstOf(ModelKind.Embedding)?.Id);
        var runs = ctx.Services.GetRequiredService<IRunStore>();
        var chats = ctx.Services.GetRequiredService<IChatStore>();
        var texts = ctx.Services.GetRequiredService<ITextEmbeddingStore>();
        var image = await ctx.PutGoldenAsync();

        // Stored before any search: found by the backfill.
        var sunset = await runs.CreateAsync(new NewRun(RunKind.Imagine, "sd-shapes", "a sunset over the ocean, orange sky") { OwnerId = Owner.LocalId }, Ct);
        await runs.MarkSucceededAsync(sunset.Id, new RunOutputs(OutputImages: [image.Sha256]), Ct);
        var chat = await chats.CreateSessionAsync(OwnerScope.Local, "shapes-chat", "Baking", ct: Ct);
        await chats.AppendAsync(chat.Id, new NewChatMessage("user", "How do I make bread at home?"), OwnerScope.Local, Ct);
        await chats.AppendAsync(chat.Id, new NewChatMessage("assistant", "Mix flour, water, yeast and salt, knead, let it rise, then put it in a hot oven."), OwnerScope.Local, Ct);
        // Recorded as a page records it: gets its vector right away.
        var outcome = await ctx.Services.GetRequiredService<RunRecorder>().ExecuteAsync(
            new NewRun(RunKind.Caption, "shapes-vlm", InputImages: [image.Sha256]) { OwnerId = Owner.LocalId },
            (_, _) => Task.FromResult(new RunOutputs(Text: "a puppy running across the grass")), Ct);
        var model = MiniLmFixture.Id;
        for (var i = 0; i < 400 && (await texts.MissingAsync(model, ct: Ct)).Any(t => t.ItemId == outcome.RunId); i++) await Task.Delay(50, Ct);
        Assert.DoesNotContain(await texts.MissingAsync(model, ct: Ct), t => t.Source == TextSource.RunOutput && t.ItemId == outcome.RunId);

        ctx.Services.GetRequiredService<NavigationManager>().NavigateTo("gallery?q=baking%20a%20loaf");
        var page = ctx.Render<Gallery>();
        await page.InvokeAsync(() => page.Find("input[data-testid=by-meaning], [data-testid=by-meaning] input").Change(true));
        page.WaitForAssertion(() => Assert.NotEmpty(page.FindAll("[data-testid=meaning-hit]")), TimeSpan.FromSeconds(60));
        // The two messages of the bread conversation come first, though neither says "baking" or "loaf".
        var top = page.FindAll("[data-testid=meaning-hit]").Take(2).ToList();
        Assert.All(top, h => Assert.Equal(nameof(TextSource.ChatMessage), h.GetAttribute("data-source")));
        Assert.Contains(top, h => h.QuerySelector("[data-testid=meaning-text]")!.TextContent.Contains("flour", StringComparison.Ordinal));
        Assert.Empty(await texts.MissingAsync(model, ct: Ct)); // the search backfilled every stored text

        await page.InvokeAsync(() => page.Find("input[data-testid=gallery-search], [data-testid=gallery-search] input").Input("dog"));
        page.WaitForAssertion(() =>
        {
            var hit = page.FindAll("[data-testid=meaning-hit]")[0];
            Assert.Equal(outcome.RunId?.ToString(System.Globalization.CultureInfo.InvariantCulture), hit.GetAttribute("data-run"));
        }, TimeSpan.FromSeconds(60));

        await page.InvokeAsync(() => page.Find("input[data-testid=gallery-search], [data-testid=gallery-search] input").Input("evening sky at the seaside"));
        page.WaitForAssertion(() => Assert.Equal(sunset.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), page.FindAll("[data-testid=meaning-hit]")[0].GetAttribute("data-run")), TimeSpan.FromSeconds(60));
        Assert.Contains("by meaning", page.Find("[data-testid=gallery-count]").TextContent, StringComparison.Ordinal);
    }
}
