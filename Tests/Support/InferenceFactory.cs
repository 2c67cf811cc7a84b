using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace MultimodalHub.Tests.Support;

/// <summary>The real inference host in-process, on the bundled models (or another models root), plus any further roots and settings.</summary>
public sealed class InferenceFactory(string? modelsRoot = null, IReadOnlyList<string>? moreRoots = null, IReadOnlyDictionary<string, string>? settings = null)
    : WebApplicationFactory<MultimodalHub.Inference.Program>
{
    public InferenceFactory() : this(null) { }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Inference:ModelRoots:0", modelsRoot ?? Repo.Models);
        for (var i = 0; i < (moreRoots?.Count ?? 0); i++) builder.UseSetting($"Inference:ModelRoots:{i + 1}", moreRoots![i]);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) builder.UseSetting(key, value);
        builder.UseSetting("Inference:IntraOpThreads", "2");
        // Keep test output readable: warnings and errors only (TestServer cannot apply per-endpoint body limits; Kestrel does).
        builder.ConfigureLogging(l => l
            .SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Warning)
            .AddFilter("Microsoft.AspNetCore.Routing.EndpointRoutingMiddleware", Microsoft.Extensions.Logging.LogLevel.Error));
    }
}
