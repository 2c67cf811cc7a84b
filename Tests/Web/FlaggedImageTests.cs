using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Core;
using MultimodalHub.Web.Components.Pages;

namespace MultimodalHub.Tests.Web;

/// <summary>
/// Imagine with the real models and the shipped safety concepts ("a purple star"): a flagged image is blurred with
/// "Show anyway", its flag is stored with the run's output, and the Gallery and the Ratings page blur it too; an unflagged one is not.
/// </summary>
public sealed class FlaggedImageTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    private static async Task<IRenderedComponent<Imagine>> GenerateAsync(WebTestContext ctx, string prompt, long seed, int n = 1)
    {
        // The settings come from an earlier (never run) run, as "Re-run" does: default scheduler, 20 steps, the seed locked.
        var earlier = await ctx.Services.GetRequiredService<IRunStore>().CreateAsync(new NewRun(RunKind.Imagine, "sd-shapes", prompt, null,
            $$"""{"steps":20,"guidance_scale":7.5,"seed":{{seed}},"n":{{n}}}""")
        { OwnerId = Owner.LocalId }, Ct);
        ctx.Services.GetRequiredService<NavigationManager>().NavigateTo($"imagine?run={earlier.Id}");
        var page = ctx.Render<Imagine>();
        page.WaitForAssertion(() => Assert.Contains(prompt, page.Markup));
        await page.InvokeAsync(() => page.Find("[data-testid=generate]").Click());
        page.WaitForAssertion(() => Assert.Equal(n, page.FindAll("[data-testid=result-image]").Count), TimeSpan.FromSeconds(60 * n));
        page.WaitForAssertion(() => Assert.Empty(page.FindAll("[data-testid=cancel]")), TimeSpan.FromSeconds(30));
        return page;
    }

    [Fact]
    public async Task A_flagged_image_is_blurred_with_show_anyway_stored_flagged_and_blurred_in_the_gallery()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = await GenerateAsync(ctx, "a purple star", 1);
        Assert.Contains("hub-flagged", page.Find("[data-testid=result-image]").ClassName);
        Assert.Contains("1 flagged by the safety check", page.Markup);
        await page.InvokeAsync(() => page.Find("[data-testid=show-anyway]").Click());
        Assert.DoesNotContain("hub-flagged", page.Find("[data-testid=result-image]").ClassName);
        Assert.Empty(page.FindAll("[data-testid=flagged-overlay]"));

        var runs = ctx.Services.GetRequiredService<IRunStore>();
        var recorded = Assert.Single((await runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Status = RunStatus.Succeeded }, Ct)).Items);
        var run = (await runs.GetAsync(recorded.Id, OwnerScope.Local, Ct))!;
        var output = Assert.Single(run.Images, i => i.Role == RunImageRole.Output);
        Assert.True(output.Flagged);
        Assert.Contains("a purple star", output.SafetyJson);

        var gallery = ctx.Render<Gallery>();
        gallery.WaitForAssertion(() => Assert.Single(gallery.FindAll("[data-testid=flagged-overlay]")), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task The_ratings_page_blurs_flagged_images_as_stored_with_show_anyway_per_image()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        await GenerateAsync(ctx, "a purple star", 1, n: 2);
        var runs = ctx.Services.GetRequiredService<IRunStore>();
        var recorded = Assert.Single((await runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Status = RunStatus.Succeeded }, Ct)).Items);
        var flags = (await runs.GetAsync(recorded.Id, OwnerScope.Local, Ct))!.Images.Where(i => i.Role == RunImageRole.Output)
            .ToDictionary(i => i.ImageSha256, i => i.Flagged);
        Assert.Equal(2, flags.Count);
        Assert.Contains(true, flags.Values); // seed 1 is the demo's flagged purple star

        var page = ctx.Render<AbRatings>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=safe-image]").Count), TimeSpan.FromSeconds(20));
        string Sha(string side) => page.Find($"[data-testid=ab-image-{side}]").GetAttribute("src")!["media/".Length..];
        bool Blurred(string side) => page.Find($"[data-testid=ab-image-{side}]").ClassName!.Contains("hub-flagged", StringComparison.Ordinal);
        foreach (var side in new[] { "a", "b" })
            Assert.Equal(flags[Sha(side)], Blurred(side));
        Assert.Equal(flags.Values.Count(f => f), page.FindAll("[data-testid=show-anyway]").Count);

        // "Show anyway" reveals that image only.
        var flaggedSide = new[] { "a", "b" }.First(s => flags[Sha(s)]);
        var other = flaggedSide == "a" ? "b" : "a";
        var overlay = page.FindAll("[data-testid=safe-image]")[flaggedSide == "a" ? 0 : 1];
        await page.InvokeAsync(() => overlay.QuerySelector("[data-testid=show-anyway]")!.Click());
        Assert.False(Blurred(flaggedSide));
        Assert.Equal(flags[Sha(other)], Blurred(other));
    }

    [Fact]
    public async Task An_unflagged_image_is_shown_plainly_and_stored_unflagged()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = await GenerateAsync(ctx, "a red circle", 7);
        Assert.DoesNotContain("hub-flagged", page.Find("[data-testid=result-image]").ClassName);
        Assert.Empty(page.FindAll("[data-testid=show-anyway]"));
        var runs = ctx.Services.GetRequiredService<IRunStore>();
        var recorded = Assert.Single((await runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Status = RunStatus.Succeeded }, Ct)).Items);
        var run = (await runs.GetAsync(recorded.Id, OwnerScope.Local, Ct))!;
        var output = Assert.Single(run.Images, i => i.Role == RunImageRole.Output);
        Assert.False(output.Flagged);
        Assert.NotNull(output.SafetyJson); // checked, not flagged
    }
}
