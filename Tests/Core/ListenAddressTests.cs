using MultimodalHub.Inference.Hosting;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Core;

/// <summary>
/// Both services listen where ASP.NET Core's settings say (ASPNETCORE_URLS, --urls, Kestrel endpoints), as every ASP.NET
/// Core app does, and on the hub's default address only when none is given. The real binaries run as processes.
/// </summary>
public sealed class ListenAddressTests
{
    private static readonly TimeSpan StartWithin = TimeSpan.FromSeconds(90);

    private static Dictionary<string, string> InferenceEnvironment(params (string Key, string Value)[] more)
    {
        var env = new Dictionary<string, string> { ["Inference__ModelRoots__0"] = Repo.Models, ["Inference__IntraOpThreads"] = "1" };
        foreach (var (key, value) in more) env[key] = value;
        return env;
    }

    [Fact]
    public async Task Inference_listens_on_ASPNETCORE_URLS()
    {
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        using var service = new ServiceProcess(HubBinaries.Inference, [], InferenceEnvironment(("ASPNETCORE_URLS", url)));
        await service.WaitForOkAsync(new Uri(url + "/readyz"), StartWithin, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Inference_urls_option_wins_over_ASPNETCORE_URLS()
    {
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        using var service = new ServiceProcess(HubBinaries.Inference, ["serve", "--urls", url],
            InferenceEnvironment(("ASPNETCORE_URLS", $"http://127.0.0.1:{ServiceProcess.FreePort()}")));
        await service.WaitForOkAsync(new Uri(url + "/healthz"), StartWithin, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Web_listens_on_ASPNETCORE_URLS()
    {
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        var data = Directory.CreateTempSubdirectory("hub-urls-");
        try
        {
            using var service = new ServiceProcess(HubBinaries.Web, [], new Dictionary<string, string>
            {
                ["ASPNETCORE_URLS"] = url,
                ["Data__DatabasePath"] = Path.Combine(data.FullName, "hub.db"),
                ["Data__BlobPath"] = Path.Combine(data.FullName, "blobs"),
                ["Inference__BaseUrl"] = $"http://127.0.0.1:{ServiceProcess.FreePort()}",
            });
            await service.WaitForOkAsync(new Uri(url + "/healthz"), StartWithin, TestContext.Current.CancellationToken);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(new string[0], InferenceHost.DefaultUrl)]
    [InlineData(new[] { "--urls", "http://127.0.0.1:6123" }, "http://127.0.0.1:6123")]
    [InlineData(new[] { "--http_ports", "6124" }, null)]
    [InlineData(new[] { "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:6125" }, null)]
    public async Task The_default_address_applies_only_when_none_is_configured(string[] args, string? expected)
    {
        // The test process itself names no address (else the first case would not test the default).
        Assert.Null(Environment.GetEnvironmentVariable("ASPNETCORE_URLS"));
        await using var app = InferenceHost.Build(args);
        Assert.Equal(expected, app.Configuration["urls"]);
    }
}
