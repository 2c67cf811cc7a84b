using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Core;

public sealed class ReadinessTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bundled_models_are_ready_and_alive()
    {
        using var client = fixture.Factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz", Ct)).StatusCode);
        var ready = await client.GetAsync("/readyz", Ct);
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Equal(4, body.GetProperty("checks").EnumerateArray().Count(c => c.GetProperty("name").GetString()!.StartsWith("model:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Missing_models_directory_starts_and_says_why()
    {
        var missing = Path.Combine(Path.GetTempPath(), "hub-missing-" + Guid.NewGuid().ToString("N"));
        using var factory = new InferenceFactory(missing);
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz", Ct)).StatusCode);
        var ready = await client.GetAsync("/readyz", Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var text = await ready.Content.ReadAsStringAsync(Ct);
        Assert.Contains("does not exist", text);
        Assert.Contains(missing, text);
    }

    [Fact]
    public async Task Broken_and_partial_models_get_readable_reasons_not_a_crash()
    {
        using var root = new TempModels();
        root.CopyModel("clip-shapes");
        // a partial diffusion folder: the UNet is missing
        root.CopyModel("sd-shapes");
        File.Delete(Path.Combine(root.Path, "sd-shapes", "unet", "model.onnx"));
        // a chat model whose ONNX file is garbage and whose config is not JSON
        root.CopyModel("shapes-chat", "broken-chat");
        File.WriteAllText(Path.Combine(root.Path, "broken-chat", "onnx", "model.onnx"), "not a model");
        File.WriteAllText(Path.Combine(root.Path, "broken-chat", "config.json"), "{ nope");
        // a folder that is not a model at all
        Directory.CreateDirectory(Path.Combine(root.Path, "notes"));
        File.WriteAllText(Path.Combine(root.Path, "notes", "readme.txt"), "hello");

        using var factory = new InferenceFactory(root.Path);
        using var client = factory.CreateClient();
        var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", Ct)).RootElement.GetProperty("data")
            .EnumerateArray().ToDictionary(m => m.GetProperty("id").GetString()!);

        Assert.Equal("ready", models["clip-shapes"].GetProperty("status").GetString());
        Assert.Equal("error", models["sd-shapes"].GetProperty("status").GetString());
        Assert.Contains("missing unet/model.onnx", models["sd-shapes"].GetProperty("error").GetString());
        Assert.Equal("chat", models["broken-chat"].GetProperty("kind").GetString());
        var chatError = models["broken-chat"].GetProperty("error").GetString()!;
        Assert.Contains("config.json is not valid JSON", chatError);
        Assert.Contains("onnx/model.onnx is not an ONNX model", chatError);
        Assert.Equal("unknown", models["notes"].GetProperty("kind").GetString());

        var ready = await client.GetAsync("/readyz", Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("missing unet/model.onnx", await ready.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task A_model_whose_onnx_file_is_corrupt_is_a_503_problem_naming_it_and_the_service_stays_up()
    {
        using var models = new TempModels();
        models.CopyModel("shapes-chat", "corrupt-chat");
        // Looks like ONNX to the registry (a protobuf field 1 varint) but is garbage to ONNX Runtime.
        var garbage = new byte[4096];
        new Random(1).NextBytes(garbage);
        garbage[0] = 0x08; garbage[1] = 0x07;
        File.WriteAllBytes(System.IO.Path.Combine(models.Path, "corrupt-chat", "onnx", "model.onnx"), garbage);
        using var factory = new InferenceFactory(models.Path);
        using var client = factory.CreateClient();
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "corrupt-chat", messages = new[] { new { role = "user", content = "hi" } } }, Ct);
            var text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, text);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(text).RootElement;
            Assert.Equal("model", problem.GetProperty("field").GetString());
            Assert.Contains("corrupt-chat", problem.GetProperty("detail").GetString());
            Assert.DoesNotContain(models.Path, text); // no server paths
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz", Ct)).StatusCode);
        Assert.False(factory.Services.GetRequiredService<LoadedModels>().IsLoaded("corrupt-chat"));
    }

    [Fact]
    public void The_model_list_is_rescanned_only_when_older_than_the_interval()
    {
        using var models = new TempModels();
        models.CopyModel("clip-shapes");
        using var factory = new InferenceFactory(models.Path);
        var registry = factory.Services.GetRequiredService<ModelRegistry>();
        Assert.Equal(["clip-shapes"], registry.Models.Select(m => m.Id));
        models.CopyModel("shapes-chat");
        registry.Refresh(TimeSpan.FromHours(1)); // the snapshot is fresh: no disk scan
        Assert.Equal(["clip-shapes"], registry.Models.Select(m => m.Id));
        registry.Refresh(TimeSpan.Zero);
        Assert.Equal(["clip-shapes", "shapes-chat"], registry.Models.Select(m => m.Id));
        Assert.Null(registry.RootError(registry.Roots[0]));
    }

    [Fact]
    public async Task Unknown_model_is_a_404_problem()
    {
        using var client = fixture.Factory.CreateClient();
        var response = await client.GetAsync("/v1/models/no-such-model", Ct);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no-such-model", await response.Content.ReadAsStringAsync(Ct));
    }
}

/// <summary>A temporary models root holding copies of the bundled models, deleted afterwards.</summary>
public sealed class TempModels : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hub-models-" + Guid.NewGuid().ToString("N"));

    public TempModels() => Directory.CreateDirectory(Path);

    /// <summary>A bundled model (without its goldens) as <paramref name="asId"/>.</summary>
    public void CopyModel(string id, string? asId = null) => CopyFolder(Repo.Model(id), asId ?? id, skipGoldens: true);

    /// <summary>A model folder from anywhere (e.g. a fixture) as <paramref name="id"/>.</summary>
    public void CopyFolder(string source, string id, bool skipGoldens = false)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var rel = System.IO.Path.GetRelativePath(source, file);
            if (skipGoldens && rel.StartsWith("goldens", StringComparison.Ordinal)) continue;
            var dest = System.IO.Path.Combine(Path, id, rel);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
