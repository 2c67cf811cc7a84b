using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Vlm;

/// <summary>The shapes-vlm model (three sessions) and goldens/cases.json, loaded once per test class.</summary>
public class VlmFixture : IDisposable
{
    public VlmFixture() : this(kvIoBinding: false)
    {
    }

    /// <param name="kvIoBinding">Run the decoder through IO binding (Inference:KvIoBinding).</param>
    protected VlmFixture(bool kvIoBinding)
    {
        var descriptor = ModelRegistry.Describe(Repo.Model("shapes-vlm"));
        Model = new VlmModel(descriptor, path =>
        {
            using var so = new SessionOptions { IntraOpNumThreads = 1 };
            return new InferenceSession(path, so);
        }, kvIoBinding: kvIoBinding);
        Goldens = JsonDocument.Parse(File.ReadAllText(Repo.Model("shapes-vlm", "goldens", "cases.json")));
    }

    public VlmModel Model { get; }
    public JsonDocument Goldens { get; }

    public IEnumerable<JsonElement> Cases => Goldens.RootElement.GetProperty("cases").EnumerateArray();

    public JsonElement Case(string name) => Cases.First(c => c.GetProperty("name").GetString() == name);

    public static int[] Ints(JsonElement e) => e.Ints();

    public static string File_(string name) => Repo.Model("shapes-vlm", "goldens", name);

    public float[] GoldenFeatures(JsonElement c) => NpyArray.Load(File_(c.GetProperty("image_features").GetString()!)).Data;

    public void Dispose()
    {
        Model.Dispose();
        Goldens.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>shapes-vlm with its decoder through IO binding: the KV cache stays in the session's memory between steps.</summary>
public sealed class VlmKvIoBindingFixture() : VlmFixture(kvIoBinding: true);
