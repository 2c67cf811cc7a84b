using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Core;
using MultimodalHub.Web.Components.Pages;

namespace MultimodalHub.Tests.Web;

/// <summary>Imagine with the real diffusion model: while a batch is still generating, the finished images' Re-run and
/// Vary seed buttons are disabled (a second run would overwrite the first one's job and cancellation).</summary>
public sealed class ImagineRerunTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rerun_and_vary_seed_are_disabled_while_the_batch_is_running()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var runs = ctx.Services.GetRequiredService<IRunStore>();
        var earlier = await runs.CreateAsync(new NewRun(RunKind.Imagine, "sd-shapes", "a blue square", null,
            """{"steps":8,"guidance_scale":7.5,"scheduler":"euler_a","seed":7,"size":"64x64","n":3}""")
        { OwnerId = Owner.LocalId }, Ct);
        ctx.Services.GetRequiredService<NavigationManager>().NavigateTo($"imagine?run={earlier.Id}");
        var page = ctx.Render<Imagine>();
        page.WaitForAssertion(() => Assert.Contains("a blue square", page.Markup)); // the earlier run's parameters are loaded

        // Every render that shows a finished image while the batch still runs: are its buttons disabled?
        var whileRunning = new List<bool>();
        page.OnMarkupUpdated += (_, _) =>
        {
            if (page.FindAll("[data-testid=cancel]").Count == 0) return;
            var buttons = page.FindAll("[data-testid=rerun], [data-testid=vary-seed]");
            if (buttons.Count > 0) whileRunning.Add(buttons.All(b => b.HasAttribute("disabled")));
        };
        await page.InvokeAsync(() => page.Find("[data-testid=generate]").Click());

        page.WaitForAssertion(() => Assert.Equal(3, page.FindAll("[data-testid=result-image]").Count), TimeSpan.FromSeconds(60));
        page.WaitForAssertion(() => Assert.Empty(page.FindAll("[data-testid=cancel]")), TimeSpan.FromSeconds(30));
        Assert.NotEmpty(whileRunning); // images 1 and 2 were shown before image 3 was done
        Assert.All(whileRunning, Assert.True);
        Assert.All(page.FindAll("[data-testid=rerun]"), b => Assert.False(b.HasAttribute("disabled")));
        var recorded = (await runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Status = RunStatus.Succeeded }, Ct)).Items;
        Assert.Single(recorded); // the new batch (the seeded "earlier" run was never finished)
        Assert.Empty((await runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Status = RunStatus.Running }, Ct)).Items);
    }
}
