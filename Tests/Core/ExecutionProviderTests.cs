using System.Net.Http.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Core;

/// <summary>
/// Execution providers on this machine, in whichever build the tests run (CPU package, or the CUDA build with
/// -p:UseCuda=true): the configured list is tried in order, a provider that this build lacks or that cannot start
/// (no GPU here) is skipped with its reason logged once, CPU runs what is left, and /v1/models names each model's provider.
/// </summary>
public sealed class ExecutionProviderTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    /// <summary>Whether an NVIDIA GPU is visible to this process (its device nodes exist).</summary>
    private static bool GpuPresent => File.Exists("/dev/nvidiactl") && File.Exists("/dev/nvidia0");

    private static OrtSessionFactory Factory(InferenceOptions options, CapturedLogs? logs = null) =>
        new(Options.Create(options), logs?.For<OrtSessionFactory>() ?? NullLogger<OrtSessionFactory>.Instance);

    [Fact]
    public void Cuda_is_used_exactly_when_a_gpu_answers_and_else_cpu_with_the_reason_logged_once()
    {
        var logs = new CapturedLogs();
        var sessions = Factory(new InferenceOptions { IntraOpThreads = 1 }, logs);
        var problem = sessions.Problem(ExecutionProviders.Cuda);

        Assert.Equal(GpuPresent, problem is null);
        Assert.Equal(GpuPresent ? ExecutionProviders.Cuda : ExecutionProviders.Cpu, sessions.ExecutionProvider);
        using (var scope = sessions.BeginModel("shapes-chat"))
        {
            using var a = sessions.Create(Repo.Model("shapes-chat", "onnx", "model.onnx"));
            using var b = sessions.Create(Repo.Model("clip-shapes", "onnx", "text_model.onnx"));
            Assert.Equal([sessions.ExecutionProvider], scope.Providers);
        }
        Assert.Equal(sessions.ExecutionProvider, sessions.ProviderFor("clip-shapes"));

        var aboutCuda = logs.Entries.Where(e => e.Message.Contains("Execution provider cuda", StringComparison.Ordinal)).ToList();
        Assert.Single(aboutCuda);
        if (!GpuPresent)
        {
#if USE_CUDA
            // The CUDA build has the provider; it fails to start for want of the CUDA libraries or a device.
            Assert.Contains("CUDAExecutionProvider could not start", problem, StringComparison.Ordinal);
#else
            Assert.Contains("-p:UseCuda=true", problem, StringComparison.Ordinal);
#endif
            Assert.Contains(problem!, aboutCuda[0].Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Unknown_providers_are_skipped_with_a_reason_and_cpu_is_always_the_last_resort()
    {
        var sessions = Factory(new InferenceOptions { IntraOpThreads = 1, ExecutionProviders = ["npu", "dml"] });
        Assert.Contains("unknown execution provider 'npu'", sessions.Problem("npu"), StringComparison.Ordinal);
        Assert.Contains("DirectML", sessions.Problem(ExecutionProviders.DirectMl), StringComparison.Ordinal);
        Assert.Equal(ExecutionProviders.Cpu, sessions.ExecutionProvider);
        using var session = sessions.Create(Repo.Model("shapes-chat", "onnx", "model.onnx"));
        Assert.NotEmpty(session.InputMetadata);
    }

    [Fact]
    public void A_configured_provider_list_replaces_the_default_order()
    {
        // Bound as the service binds it: a configured list must not be appended to the default ["cuda", "cpu"].
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Inference:ExecutionProviders:0"] = "tensorrt",
            ["Inference:ExecutionProviders:1"] = "cuda",
            ["Inference:Models:sd-shapes:ExecutionProviders:0"] = "dml",
        }).Build();
        var options = config.GetSection("Inference").Get<InferenceOptions>()!;
        Assert.Equal(["tensorrt", "cuda", "cpu"], options.RuntimeFor(null).ExecutionProviders);
        Assert.Equal(["dml", "cpu"], options.RuntimeFor("sd-shapes").ExecutionProviders);
        var unset = new ConfigurationBuilder().Build().GetSection("Inference").Get<InferenceOptions>() ?? new InferenceOptions();
        Assert.Equal(["cuda", "cpu"], unset.RuntimeFor(null).ExecutionProviders);
    }

    [Fact]
    public void Per_model_settings_override_the_service_wide_ones()
    {
        var options = new InferenceOptions
        {
            IntraOpThreads = 3,
            CudnnConvAlgoSearch = "heuristic",
            Models = { ["sd-shapes"] = new ModelRuntimeOptions { ExecutionProviders = ["cpu"], IntraOpThreads = 1, WarmUp = false } },
        };
        var sd = options.RuntimeFor("sd-shapes");
        Assert.Equal(["cpu"], sd.ExecutionProviders);
        Assert.Equal(1, sd.IntraOpThreads);
        Assert.False(sd.WarmUp);
        Assert.Equal("HEURISTIC", sd.CudnnConvAlgoSearch);
        var chat = options.RuntimeFor("shapes-chat");
        Assert.Equal(["cuda", "cpu"], chat.ExecutionProviders);
        Assert.Equal(3, chat.IntraOpThreads);
        Assert.True(chat.WarmUp);
        Assert.Equal(["cpu"], new InferenceOptions { UseCuda = false }.RuntimeFor(null).ExecutionProviders);
        Assert.Equal(Environment.ProcessorCount, new InferenceOptions().RuntimeFor(null).IntraOpThreads);
        Assert.False(new InferenceOptions().RuntimeFor(null).AllowSpinning);
    }

    [Fact]
    public void Auto_variant_prefers_fp16_only_for_models_on_a_gpu_provider()
    {
        var options = new InferenceOptions { Models = { ["cpu-only"] = new ModelRuntimeOptions { PreferFp16OnGpu = false } } };
        Assert.Equal(OnnxVariants.GpuPreference, options.VariantChoiceFor("any", onGpu: true).Preference);
        Assert.Equal(OnnxVariants.CpuPreference, options.VariantChoiceFor("any", onGpu: false).Preference);
        Assert.Equal(OnnxVariants.CpuPreference, options.VariantChoiceFor("cpu-only", onGpu: true).Preference);
        Assert.Equal(OnnxVariant.Q4, new InferenceOptions { Variant = "q4" }.VariantChoiceFor("any", onGpu: true).Requested);
    }

    [Fact]
    public void Bad_cuda_settings_name_the_setting()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new InferenceOptions { CudnnConvAlgoSearch = "fastest" }.RuntimeFor(null));
        Assert.Contains("Inference:CudnnConvAlgoSearch", e.Message, StringComparison.Ordinal);
        var options = new InferenceOptions { Models = { ["m"] = new ModelRuntimeOptions { ArenaExtendStrategy = "double" } } };
        Assert.Contains("Inference:ArenaExtendStrategy", Assert.Throws<InvalidOperationException>(() => options.RuntimeFor("m")).Message, StringComparison.Ordinal);
        Assert.Equal("HEURISTIC", new InferenceOptions { CudnnConvAlgoSearch = "Heuristic" }.RuntimeFor(null).CudnnConvAlgoSearch);
    }

    [Fact]
    public async Task Models_list_the_provider_they_run_on_and_a_loaded_model_how_it_loaded()
    {
        using var client = fixture.Factory.CreateClient();
        var ct = TestContext.Current.CancellationToken;
        var expected = GpuPresent ? "cuda" : "cpu";
        var before = await client.GetFromJsonAsync<ModelList>("/v1/models", MultimodalHub.Web.Client.InferenceClient.Json, ct);
        Assert.All(before!.Data, m => Assert.Equal(expected, m.ExecutionProvider));

        using var response = await client.PostAsJsonAsync("/v1/completions", new { model = "shapes-chat", prompt = "red", max_tokens = 2 }, ct);
        response.EnsureSuccessStatusCode();
        var chat = await client.GetFromJsonAsync<ModelInfo>("/v1/models/shapes-chat", MultimodalHub.Web.Client.InferenceClient.Json, ct);
        Assert.True(chat!.Loaded);
        Assert.NotNull(chat.Load);
        Assert.Equal([expected], chat.Load.ExecutionProviders);
        Assert.True(chat.Load.LoadMs > 0);
        Assert.False(chat.Load.Pinned);
        Assert.Equal(expected, chat.ExecutionProvider);
    }
}
