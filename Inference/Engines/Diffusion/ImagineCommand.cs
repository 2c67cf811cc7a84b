using System.Globalization;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Cli;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// `imagine --prompt "a red star" [--negative ...] [--steps 20] [--guidance 7.5] [--scheduler ddim|euler|euler-a|dpm++2m|lcm]
/// [--seed 7] [--n 1] [--size 64x64] [--model sd-shapes] [--init in.png --strength 0.6] [--latents noise.npy [--step-noise steps.npy]]
/// --out star.png`: writes the PNG(s) (out.png, out-2.png, ... for n &gt; 1) and prints JSON with every parameter, the seeds,
/// the paths and timings.
/// </summary>
public sealed class ImagineCommand(DiffusionService service) : ICliCommand
{
    public string Name => "imagine";
    public string Summary => "Text-to-image: imagine --prompt \"a red circle\" [--steps 20 --seed 7 --scheduler euler] --out image.png";

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly("prompt", "negative", "steps", "guidance", "scheduler", "seed", "n", "size", "model", "out", "init", "strength", "latents", "step-noise");
        long? seed = args.Get("seed") is { } s
            ? long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw new CliUsageException($"--seed must be a non-negative integer, not '{s}'.")
            : null;
        string? init = args.Get("init") is { } initPath ? Convert.ToBase64String(await File.ReadAllBytesAsync(initPath, ct)) : null;
        var request = new ImageGenerationRequest
        {
            Prompt = args.Required("prompt"),
            NegativePrompt = args.Get("negative"),
            Steps = args.Get("steps") is null ? null : args.GetInt("steps", 0),
            GuidanceScale = args.Get("guidance") is null ? null : args.GetDouble("guidance", 0),
            Scheduler = args.Get("scheduler"),
            Seed = seed,
            N = args.Get("n") is null ? null : args.GetInt("n", 1),
            Size = args.Get("size"),
            Model = args.Get("model"),
            InitImage = init,
            Strength = args.Get("strength") is null ? null : args.GetDouble("strength", 0),
        };
        var plan = await service.PlanAsync(request, ct);
        Func<int, INoiseSource>? noiseFor = null;
        if (args.Get("latents") is { } latentsPath)
        {
            if (plan.N != 1) throw new CliUsageException("--latents gives the noise of one image: use --n 1.");
            var latents = LatentsFile.Read(latentsPath).Data;
            var stepNoise = args.Get("step-noise") is { } sn ? LatentsFile.Read(sn).Data : null;
            noiseFor = _ => new GivenNoise(latents, stepNoise);
        }
        else if (args.Get("step-noise") is not null) throw new CliUsageException("--step-noise needs --latents.");

        var result = await service.GenerateAsync(plan, ct, noiseFor: noiseFor);
        var output = args.Get("out") ?? $"imagine-{plan.Seed}.png";
        var paths = new List<ImagineOutput>();
        for (var i = 0; i < result.Data.Count; i++)
        {
            var path = i == 0 ? output : Path.Combine(Path.GetDirectoryName(output) ?? "", $"{Path.GetFileNameWithoutExtension(output)}-{i + 1}{Path.GetExtension(output)}");
            await File.WriteAllBytesAsync(path, Convert.FromBase64String(result.Data[i].B64Json), ct);
            paths.Add(new ImagineOutput(Path.GetFullPath(path), result.Data[i].Seed, result.Data[i].RevisedPrompt));
        }
        CliApp.WriteJson(stdout, new ImagineResult(paths, result.Parameters, result.Timings, noiseFor is null ? "seed" : "latents"));
        return 0;
    }

    private sealed record ImagineOutput(string Path, long Seed, string? RevisedPrompt);

    private sealed record ImagineResult(IReadOnlyList<ImagineOutput> Images, ImageGenerationParameters Parameters, ImageTimings Timings, string Noise);
}
