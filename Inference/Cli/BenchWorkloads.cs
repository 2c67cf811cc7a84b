using System.Text.Json;
using MultimodalHub.Contracts;

namespace MultimodalHub.Inference.Cli;

/// <summary>One kind of request the benchmark repeats: a route and a fixed JSON body.</summary>
public sealed record BenchWorkload(string Name, string Route, byte[] Body);

/// <summary>
/// The benchmark's fixed requests, built from the bundled demo models' golden images (looked up under the model
/// roots): classify one image against the 24 demo labels, a short greedy chat, a caption, a tiny 64x64 generation,
/// one short text embedded by the CLIP demo model (the cheapest real request).
/// </summary>
public static class BenchWorkloads
{
    public static readonly IReadOnlyList<string> Known = ["classify", "chat", "caption", "imagine", "embed"];

    /// <summary>The clip-shapes labels: 6 colours x 4 shapes.</summary>
    public static readonly IReadOnlyList<string> DemoLabels =
        (from c in new[] { "red", "green", "blue", "yellow", "purple", "orange" }
         from s in new[] { "circle", "square", "triangle", "star" }
         select $"{c} {s}").ToArray();

    private static readonly JsonSerializerOptions Json = HubJson.Create();

    public static BenchWorkload Create(string name, IReadOnlyList<string> modelRoots) => name switch
    {
        "classify" => new(name, "/v1/classify", Serialize(new ClassifyRequest(
            Images: [DataUrl(FindGolden(modelRoots, "clip-shapes", "image0.png"))],
            Labels: DemoLabels))),
        "chat" => new(name, "/v1/chat/completions", Serialize(new ChatCompletionRequest
        {
            Messages = [new ChatCompletionMessage("user", ChatContent.Of("count from three to seven"))],
            Temperature = 0,
            MaxTokens = 24,
        })),
        "caption" => new(name, "/v1/caption", Serialize(new CaptionRequest
        {
            Image = DataUrl(FindGolden(modelRoots, "shapes-vlm", "g1_red_circle_caption.png")),
            Temperature = 0,
        })),
        "imagine" => new(name, "/v1/images/generations", Serialize(new ImageGenerationRequest
        {
            Prompt = "a red circle",
            Size = "64x64",
            Steps = 8,
            Seed = 7,
        })),
        "embed" => new(name, "/v1/embeddings", Serialize(new EmbeddingsRequest(Input: JsonSerializer.SerializeToElement("a red circle"), Model: "clip-shapes"))),
        _ => throw new CliUsageException($"--workload: unknown workload '{name}'; use {string.Join(", ", Known)}."),
    };

    private static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Json);

    private static string DataUrl(string path) => "data:image/png;base64," + Convert.ToBase64String(File.ReadAllBytes(path));

    private static string FindGolden(IReadOnlyList<string> roots, string model, string file)
    {
        foreach (var root in roots)
        {
            var path = Path.Combine(root, model, "goldens", file);
            if (File.Exists(path)) return path;
        }
        throw new CliUsageException(
            $"{model}/goldens/{file} not found under the model roots ({string.Join(", ", roots)}); pass --models DIR (the bundled models/ folder).");
    }
}
