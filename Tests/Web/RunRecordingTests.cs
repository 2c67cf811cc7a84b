using System.Net;
using System.Text;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Components.Pages;

namespace MultimodalHub.Tests.Web;

/// <summary>A page action that fails in an unexpected way (not an inference error) shows a readable message, keeps the
/// circuit alive and records the run as failed, never leaving it "running".</summary>
public sealed class RunRecordingTests
{
    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    /// <summary>An inference service (or a proxy in front of it) answering 200 with JSON that lacks the results.</summary>
    private sealed class IncompleteAnswers : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent("""{"model":"clip-shapes"}""", Encoding.UTF8, "application/json"),
            });
    }

    [Fact]
    public async Task Classify_with_an_unexpected_failure_shows_an_error_and_records_the_run_as_failed()
    {
        await using var ctx = await WebTestContext.StartAsync(new HttpClient(new IncompleteAnswers()) { BaseAddress = new Uri("http://inference.test/") });
        var image = await ctx.PutGoldenAsync();
        ctx.Services.GetRequiredService<NavigationManager>().NavigateTo($"classify?image={image.Sha256}");
        var page = ctx.Render<Classify>();
        page.WaitForElement("[data-testid=input-image]");

        await page.InvokeAsync(() => page.Find("[data-testid=classify]").Click());

        page.WaitForAssertion(() => Assert.Contains("Unexpected error", page.Find("[data-testid=classify-error]").TextContent));
        var runs = await ctx.Services.GetRequiredService<IRunStore>().ListAsync(new RunQuery() { Owner = OwnerScope.Local }, Ct);
        var run = Assert.Single(runs.Items);
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("Unexpected error", run.Error);
        Assert.NotNull(run.Finished);
        // The page still works: the button is enabled again and a second attempt is recorded the same way.
        Assert.False(page.Find("[data-testid=classify]").HasAttribute("disabled"));
        await page.InvokeAsync(() => page.Find("[data-testid=classify]").Click());
        var store = ctx.Services.GetRequiredService<IRunStore>();
        for (var i = 0; i < 100 && (await store.ListAsync(new RunQuery { Owner = OwnerScope.Local, Status = RunStatus.Failed }, Ct)).Items.Count < 2; i++) await Task.Delay(100, Ct);
        Assert.Equal(2, (await store.ListAsync(new RunQuery { Owner = OwnerScope.Local, Status = RunStatus.Failed }, Ct)).Items.Count);
        Assert.Empty((await store.ListAsync(new RunQuery { Owner = OwnerScope.Local, Status = RunStatus.Running }, Ct)).Items);
    }
}
