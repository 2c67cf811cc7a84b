using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Hosting;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Bench;

/// <summary>A fresh inference core (no model loaded) on the bundled models with the given settings.</summary>
internal static class BenchHost
{
    public static IHost Create(params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder();
        var config = new Dictionary<string, string?> { ["Inference:ModelRoots:0"] = BenchModels.Root, ["Logging:LogLevel:Default"] = "Warning" };
        foreach (var (key, value) in settings) config[key] = value;
        builder.Configuration.AddInMemoryCollection(config);
        builder.Services.AddInferenceCore(builder.Configuration);
        return builder.Build();
    }

    /// <summary>Load a model through its engine, as POST /v1/models/{id}/load does.</summary>
    public static void Load(IHost host, string id)
    {
        ModelManagement.LoadAsync(id, host.Services, pin: null, CancellationToken.None).GetAwaiter().GetResult();
        if (!host.Services.GetRequiredService<LoadedModels>().IsLoaded(id)) throw new InvalidOperationException($"{id} did not load");
    }
}

/// <summary>
/// Cold-start costs, one fresh process-local host per iteration (BenchmarkDotNet's cold-start strategy, 5 runs):
/// loading each bundled model with and without the warm-up run, and the first chat request after a load with and
/// without warm-up. In process (building BenchmarkDotNet's generated project outlasts its 2-minute limit on a busy machine).
/// `dotnet run -c Release --project Inference/Bench -- --filter '*RuntimeColdBenchmarks*'`
/// </summary>
[Config(typeof(ColdInProcessConfig))]
public class RuntimeColdBenchmarks
{
    /// <summary>Cold start, in process: one launch, no warm-up, 5 measured iterations.</summary>
    private sealed class ColdInProcessConfig : ManualConfig
    {
        public ColdInProcessConfig() => AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithStrategy(BenchmarkDotNet.Engines.RunStrategy.ColdStart).WithLaunchCount(1).WithWarmupCount(0).WithIterationCount(5));
    }

    private IHost _host = null!;
    private PreparedChat? _chat;

    [Params("clip-shapes", "sd-shapes", "shapes-chat", "shapes-vlm")]
    public string Model { get; set; } = "";

    [Params(false, true)]
    public bool WarmUp { get; set; }

    [IterationSetup(Target = nameof(Load))]
    public void FreshHost() => _host = BenchHost.Create(("Inference:WarmUp", WarmUp ? "true" : "false"));

    [IterationCleanup]
    public void DisposeHost()
    {
        _chat?.Dispose();
        _chat = null;
        _host.Dispose();
    }

    [Benchmark(Description = "load (+ warm-up)")]
    public void Load() => BenchHost.Load(_host, Model);

    [IterationSetup(Target = nameof(FirstChatRequest))]
    public void LoadedChat()
    {
        FreshHost();
        var engine = _host.Services.GetRequiredService<ChatEngine>();
        var job = new ChatJob("shapes-chat", [new ChatMessage("user", "draw a red circle")], null,
            new SamplingRequest(Temperature: 0, MaxNewTokens: 16, IgnoreEos: true));
        _chat = engine.PrepareAsync(job, CancellationToken.None).GetAwaiter().GetResult(); // loads (+ warms up) the model
    }

    /// <summary>The first chat request after the load: 16 tokens. (Only meaningful for Model=shapes-chat; the others repeat it.)</summary>
    [Benchmark(Description = "first chat request, 16 tokens")]
    public GenerationSummary FirstChatRequest() =>
        _host.Services.GetRequiredService<ChatEngine>().RunAsync(_chat!, null, CancellationToken.None).GetAwaiter().GetResult();
}

/// <summary>
/// Inference:AllowSpinning on and off for a 64-token chat answer through the engine (decoding and sampling run between
/// ORT runs, so spinning threads compete with them). `dotnet run -c Release --project Inference/Bench -- --filter '*SpinningBenchmarks*'`
/// </summary>
[Config(typeof(QuickInProcessConfig))]
public class SpinningBenchmarks
{
    private IHost _host = null!;
    private ChatEngine _engine = null!;

    [Params(false, true)]
    public bool Spinning { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _host = BenchHost.Create(("Inference:AllowSpinning", Spinning ? "true" : "false"));
        _engine = _host.Services.GetRequiredService<ChatEngine>();
        BenchHost.Load(_host, "shapes-chat");
    }

    [GlobalCleanup]
    public void Cleanup() => _host.Dispose();

    [Benchmark(Description = "chat answer, 64 tokens")]
    public GenerationSummary Answer() => _engine.CompleteAsync(
        new ChatJob("shapes-chat", [new ChatMessage("user", "draw a red circle")], null, new SamplingRequest(Temperature: 0, MaxNewTokens: 64, IgnoreEos: true)),
        null, CancellationToken.None).GetAwaiter().GetResult();
}
