using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MultimodalHub.Tests.Support;

/// <summary>The real inference host in-process, on the bundled models (or another models root).</summary>
public sealed class InferenceFactory(string? modelsRoot = null) : WebApplicationFactory<MultimodalHub.Inference.Program>
{
    public InferenceFactory() : this(null) { }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Inference:ModelRoots:0", modelsRoot ?? Repo.Models);
        builder.UseSetting("Inference:IntraOpThreads", "2");
    }
}
