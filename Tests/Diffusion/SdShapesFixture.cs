using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Diffusion;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Diffusion;

/// <summary>The sd-shapes model loaded once (plain CPU sessions) plus its goldens/cases.json.</summary>
public sealed class SdShapesFixture : IDisposable
{
    public SdShapesFixture()
    {
        var dir = Repo.Model("sd-shapes");
        var descriptor = new ModelDescriptor("sd-shapes", ModelKind.Diffusion, dir, [], null);
        Model = new DiffusionModel(descriptor, path =>
        {
            using var so = new SessionOptions { IntraOpNumThreads = 2 };
            return new InferenceSession(path, so);
        });
        Cases = JsonDocument.Parse(File.ReadAllText(Golden("cases.json")));
    }

    public DiffusionModel Model { get; }
    public JsonDocument Cases { get; }

    public IEnumerable<JsonElement> AllCases => Cases.RootElement.GetProperty("cases").EnumerateArray();

    public JsonElement Case(string id) => AllCases.First(c => c.GetProperty("id").GetString() == id);

    public static string Golden(string file) => Repo.Model("sd-shapes", "goldens", file);

    public static NpyArray Npy(JsonElement c, string key) => NpyArray.Load(Golden(c.GetProperty("files").GetProperty(key).GetString()!));

    public static long[] Ids(JsonElement c, string key) => c.GetProperty(key).Longs();

    public void Dispose()
    {
        Model.Dispose();
        Cases.Dispose();
    }
}
