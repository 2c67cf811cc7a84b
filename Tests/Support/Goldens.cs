using System.Text.Json;

namespace MultimodalHub.Tests.Support;

/// <summary>Golden files of the bundled models, parsed once, and the JSON readers the golden tests share.</summary>
internal static class Goldens
{
    public static JsonElement Load(string model, string file) =>
        JsonDocument.Parse(File.ReadAllBytes(Repo.Model(model, "goldens", file))).RootElement;

    public static int[] Ints(this JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetInt32())];

    public static long[] Longs(this JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetInt64())];

    public static string Str(this JsonElement e, string name) => e.GetProperty(name).GetString()!;
}
