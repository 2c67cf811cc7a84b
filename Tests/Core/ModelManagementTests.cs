using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Core;

/// <summary>Load, pin, unpin and unload models on request (POST /v1/models/{id}/...), with the warm-up run at load, on the real host and models.</summary>
public sealed class ModelManagementTests
{
    private static readonly JsonSerializerOptions Json = MultimodalHub.Web.Client.InferenceClient.Json;

    private static async Task<ModelInfo> PostAsync(HttpClient client, string path)
    {
        using var response = await client.PostAsync(path, null, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ModelInfo>(Json, TestContext.Current.CancellationToken))!;
    }

    [Fact]
    public async Task Load_warms_up_pin_keeps_and_unload_frees_a_model()
    {
        using var factory = new InferenceFactory();
        using var client = factory.CreateClient();

        var loaded = await PostAsync(client, "/v1/models/clip-shapes/load");
        Assert.True(loaded.Loaded);
        Assert.NotNull(loaded.Load);
        Assert.True(loaded.Load.LoadMs > 0);
        Assert.NotNull(loaded.Load.WarmUpMs); // the warm-up ran at load
        Assert.False(loaded.Load.Pinned);
        Assert.Equal("fp32", loaded.Variant);

        var pinned = await PostAsync(client, "/v1/models/clip-shapes/pin");
        Assert.True(pinned.Load!.Pinned);
        Assert.Equal(loaded.Load.LoadedAt, pinned.Load.LoadedAt); // pinning a loaded model does not reload it
        Assert.True((await PostAsync(client, "/v1/models/clip-shapes/unpin")).Load!.Pinned is false);

        var unloaded = await PostAsync(client, "/v1/models/clip-shapes/unload");
        Assert.False(unloaded.Loaded);
        Assert.Null(unloaded.Load);
        Assert.False((await PostAsync(client, "/v1/models/clip-shapes/unload")).Loaded); // unloading twice is fine

        // Pin loads a model that is not in memory.
        var again = await PostAsync(client, "/v1/models/shapes-chat/pin");
        Assert.True(again.Loaded);
        Assert.True(again.Load!.Pinned);
    }

    [Fact]
    public async Task Every_kind_of_bundled_model_loads_and_warms_up_on_request()
    {
        using var factory = new InferenceFactory();
        using var client = factory.CreateClient();
        foreach (var id in new[] { "sd-shapes", "shapes-vlm" })
        {
            var info = await PostAsync(client, $"/v1/models/{id}/load");
            Assert.True(info.Loaded, id);
            Assert.NotNull(info.Load!.WarmUpMs);
        }
    }

    [Fact]
    public async Task Without_warm_up_a_model_loads_only()
    {
        using var factory = new InferenceFactory(settings: new Dictionary<string, string> { ["Inference:WarmUp"] = "false" });
        using var client = factory.CreateClient();
        var info = await PostAsync(client, "/v1/models/shapes-chat/load");
        Assert.True(info.Loaded);
        Assert.Null(info.Load!.WarmUpMs);
    }

    [Fact]
    public async Task Preloaded_models_are_loaded_and_pinned_at_start()
    {
        using var factory = new InferenceFactory(settings: new Dictionary<string, string> { ["Inference:Preload:0"] = "clip-shapes" });
        using var client = factory.CreateClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        ModelInfo? info = null;
        while (DateTime.UtcNow < deadline && info?.Loaded != true)
        {
            info = await client.GetFromJsonAsync<ModelInfo>("/v1/models/clip-shapes", Json, TestContext.Current.CancellationToken);
            if (info?.Loaded != true) await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        Assert.True(info!.Loaded);
        Assert.True(info.Load!.Pinned);
        Assert.False((await client.GetFromJsonAsync<ModelInfo>("/v1/models/shapes-chat", Json, TestContext.Current.CancellationToken))!.Loaded);
    }

    [Fact]
    public async Task Unknown_models_are_404_naming_the_id()
    {
        using var factory = new InferenceFactory();
        using var client = factory.CreateClient();
        foreach (var action in new[] { "load", "unload", "pin", "unpin" })
        {
            using var response = await client.PostAsync($"/v1/models/no-such-model/{action}", null, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
            Assert.Equal("id", problem.GetProperty("field").GetString());
        }
    }

    [Fact]
    public async Task A_model_in_use_is_not_unloaded_and_a_pinned_one_survives_idle_unloading()
    {
        using var models = new LoadedModels(Options.Create(new InferenceOptions { IdleUnload = TimeSpan.FromTicks(1) }), new HubMetrics(), NullLogger<LoadedModels>.Instance);
        var a = new ModelDescriptor("a", ModelKind.Chat, "/nonexistent", [], null);
        var b = new ModelDescriptor("b", ModelKind.Chat, "/nonexistent", [], null);
        var lease = await models.AcquireAsync(a, _ => new MemoryStream(), TestContext.Current.CancellationToken);
        Assert.Equal(UnloadResult.InUse, models.Unload("a"));
        lease.Dispose();
        (await models.AcquireAsync(b, _ => new MemoryStream(), TestContext.Current.CancellationToken)).Dispose();
        Assert.True(models.Pin("b", true));
        await Task.Delay(5, TestContext.Current.CancellationToken);

        Assert.Equal(1, models.UnloadIdle());
        Assert.False(models.IsLoaded("a"));
        Assert.True(models.IsLoaded("b"));
        Assert.True(models.StateOf("b")!.Pinned);
        Assert.Equal(UnloadResult.Unloaded, models.Unload("b"));
        Assert.Equal(UnloadResult.NotLoaded, models.Unload("b"));
        Assert.False(models.Pin("b", true));
    }
}
