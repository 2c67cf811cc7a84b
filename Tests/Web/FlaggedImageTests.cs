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
/// "Show anyway", its flag is stored with the run's output, and the Gallery blurs it too; an unflagged one is not.
/// </summary>
public sealed class FlaggedImageTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    private static async Task<IRenderedComponent<Imagine>> GenerateAsync(WebTestContext ctx, string prompt, long seed)
    {
        // The settings come from an earlier (never run) run, as "Re-run" does: default scheduler, 20 steps, the seed locked.
        var earlier = await ctx.Services.GetRequiredService<IRunStore>().CreateAsync(new NewRun(RunKind.Imagine, "sd-shapes", prompt, null,
            $$"""{"steps":20,"guidance_scale":7.5,"seed":{{seed}},"n":1}""")
        { OwnerId = Owner.LocalId }, Ct);
        ctx.Services.GetRequiredService<NavigationManager>().NavigateTo($"imagine?run={earlier.Id}");
        var page = ctx.Render<Imagine>();
        page.WaitForAssertion(() => Assert.Contains(prompt, page.Markup));
        await page.InvokeAsync(() => page.Find("[data-testid=generate]").Click());
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=result-image]")), TimeSpan.FromSeconds(60));
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
