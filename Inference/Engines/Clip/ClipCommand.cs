using Microsoft.Extensions.Options;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Imaging;

namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>One image's result as the CLI prints it.</summary>
public sealed record ClassifyCliResult(string Model, string Image, IReadOnlyList<ClassifyCliLabel> Labels);

public sealed record ClassifyCliLabel(string Label, float Score);

/// <summary>
/// `classify --image a.png [--image b.png] --labels "red circle,blue square" [--template "a photo of a {}."]
/// [--top-k N] [--model NAME]`: prints {"model", "image", "labels": [{"label", "score"}]} sorted by score, or an
/// array of those for several images.
/// </summary>
public sealed class ClipCommand(ClipEngine engine, IOptions<ImageLimits> limits) : ICliCommand
{
    public string Name => "classify";

    public string Summary => "zero-shot classify images against labels with CLIP: --image a.png --labels \"red circle,blue square\"";

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly("image", "labels", "label", "template", "model", "top-k");
        var paths = args.GetAll("image");
        if (paths.Count == 0) throw new CliUsageException("--image is required (repeat it for several images).");
        var labels = args.GetAll("labels").SelectMany(l => ClipEndpoints.SplitLabels([l])).Concat(args.GetAll("label")).ToList();
        if (labels.Count == 0) throw new CliUsageException("--labels is required, e.g. --labels \"red circle,blue square\".");
        var images = new List<ClipImageInput>();
        foreach (var path in paths)
        {
            if (!File.Exists(path)) throw new CliUsageException($"--image {path}: file not found.");
            var size = new FileInfo(path).Length;
            if (size > limits.Value.MaxBytes)
                throw new CliUsageException($"--image {path}: {size / 1048576.0:0.#} MB exceeds the {limits.Value.MaxBytes / 1048576.0:0.#} MB limit.");
            images.Add(new ClipImageInput(await File.ReadAllBytesAsync(path, ct), $"--image {path}", path));
        }
        int? topK = args.Has("top-k") ? args.GetInt("top-k", 0) : null;
        var response = await engine.ClassifyAsync(new ClipClassifyInput(images, labels, args.GetAll("template"), topK, args.Get("model")), ct);
        var results = response.Results
            .Select(r => new ClassifyCliResult(response.Model, paths[r.Index], r.Labels.Select(l => new ClassifyCliLabel(l.Label, l.Score)).ToList()))
            .ToList();
        if (results.Count == 1) CliApp.WriteJson(stdout, results[0]);
        else CliApp.WriteJson(stdout, results);
        return 0;
    }
}
