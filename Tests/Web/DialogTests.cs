using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Components.Shared;

namespace MultimodalHub.Tests.Web;

public sealed class DialogTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    [Fact]
    public async Task Details_view_shows_every_parameter_of_an_image_run()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient(), popovers: false);
        var runs = ctx.Services.GetRequiredService<IRunStore>();
        var image = await ctx.PutGoldenAsync();
        var created = await runs.CreateAsync(new NewRun(RunKind.Imagine, "sd-shapes", "a red circle", "blurry",
            """{"steps":20,"guidance_scale":7.5,"scheduler":"euler_a","seed":1234,"size":"64x64","n":1}""")
        { OwnerId = Owner.LocalId }, Xunit.TestContext.Current.CancellationToken);
        await runs.MarkRunningAsync(created.Id, Xunit.TestContext.Current.CancellationToken);
        await runs.MarkSucceededAsync(created.Id, new RunOutputs(OutputImages: [image.Sha256], TimingsJson: """{"total_ms":538.2}"""), Xunit.TestContext.Current.CancellationToken);
        var run = (await runs.GetAsync(created.Id, OwnerScope.Local, Xunit.TestContext.Current.CancellationToken))!;

        var provider = ctx.Render<MudDialogProvider>();
        ctx.Render<MudPopoverProvider>();
        var dialogs = ctx.Services.GetRequiredService<IDialogService>();
        await provider.InvokeAsync(() => dialogs.ShowAsync<RunDetailsDialog>("Details", new DialogParameters<RunDetailsDialog> { { x => x.Run, run } }));

        var table = provider.WaitForElement("[data-testid=details-parameters]").TextContent;
        foreach (var expected in new[] { "sd-shapes", "a red circle", "blurry", "steps", "20", "guidance_scale", "7.5", "scheduler", "euler_a", "seed", "1234", "64x64", "succeeded", "total_ms" })
            Assert.Contains(expected, table);
        Assert.Equal($"media/{image.Sha256}", provider.Find("[data-testid=details-image]").GetAttribute("src"));
        Assert.Contains(provider.FindAll("button"), b => b.TextContent.Contains("Vary seed"));
    }

    [Fact]
    public async Task Share_dialog_rejects_a_too_long_title_and_an_empty_selection()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient(), popovers: false);
        var provider = ctx.Render<MudDialogProvider>();
        ctx.Render<MudPopoverProvider>();
        var dialogs = ctx.Services.GetRequiredService<IDialogService>();
        var shares = ctx.Services.GetRequiredService<IShareService>();

        await provider.InvokeAsync(() => dialogs.ShowAsync<ShareDialog>("Share", new DialogParameters<ShareDialog> { { x => x.RunIds, new List<long>() } }));
        provider.WaitForElement("[data-testid=share-title]").Input(new string('x', 250));
        provider.Find("[data-testid=share-create]").Click();
        provider.WaitForAssertion(() =>
        {
            Assert.Contains("At most 200 characters", provider.Markup);
            Assert.Contains("Nothing is selected to share", provider.Find("[data-testid=share-error]").TextContent);
        });
        Assert.Empty(provider.FindAll("[data-testid=share-url]"));
        Assert.Empty(await shares.ListAsync(OwnerScope.Local, ct: Xunit.TestContext.Current.CancellationToken));
    }
}
