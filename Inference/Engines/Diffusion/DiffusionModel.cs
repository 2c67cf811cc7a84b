using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultimodalHub.Inference.Engines.Diffusion.Schedulers;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// A loaded diffusers ONNX Stable Diffusion folder: the four sessions (vae_encoder optional), the tokenizer and
/// every size/constant read from the model's files — latent channels and native size from the UNet
/// (config.json sample_size, session input shape), VAE downsample factor from block_out_channels, the latent
/// scaling factor from vae_decoder/config.json (default 0.18215), the token length from tokenizer_config.json.
/// </summary>
public sealed class DiffusionModel : IDisposable
{
    private readonly Lazy<ITextTokenizer> _tokenizer;

    public DiffusionModel(ModelDescriptor descriptor, Func<string, InferenceSession> createSession)
    {
        Descriptor = descriptor;
        var dir = descriptor.Directory;
        Scheduler = SchedulerConfig.Load(Path.Combine(dir, "scheduler", "scheduler_config.json"));
        var vae = ModelFiles.ReadJson(Path.Combine(dir, "vae_decoder", "config.json"));
        var unet = ModelFiles.ReadJson(Path.Combine(dir, "unet", "config.json"));
        var tok = ModelFiles.ReadJson(Path.Combine(dir, "tokenizer", "tokenizer_config.json"));
        ScalingFactor = Number(vae, "scaling_factor") ?? 0.18215;
        VaeScaleFactor = vae?.TryGetProperty("block_out_channels", out var boc) == true && boc.ValueKind == JsonValueKind.Array
            ? 1 << (boc.GetArrayLength() - 1) : 8;
        MaxTokens = (int)(Number(tok, "model_max_length") is { } m && m is > 0 and < 100_000 ? m : 77);
        (DefaultSteps, DefaultGuidance) = GenerationDefaults(descriptor.Id, ModelFiles.ReadJson(Path.Combine(dir, "model_index.json")));

        // Everything after the first session is created is covered: a metadata read that throws must not leak the sessions.
        var sessions = new List<InferenceSession>();
        InferenceSession Add(InferenceSession s) { sessions.Add(s); return s; }
        try
        {
            TextEncoder = Add(createSession(descriptor.Onnx("text_encoder/model")));
            Unet = Add(createSession(descriptor.Onnx("unet/model")));
            VaeDecoder = Add(createSession(descriptor.Onnx("vae_decoder/model")));
            var encoderPath = descriptor.Onnx("vae_encoder/model");
            VaeEncoder = File.Exists(encoderPath) ? Add(createSession(encoderPath)) : null;

            UnetNames = UnetInputs.From(Unet);
            var extra = Unet.InputNames.Except([UnetNames.Sample, UnetNames.Timestep, UnetNames.EncoderHiddenStates]).ToArray();
            if (extra.Length > 0)
                throw new InvalidDataException($"unet/model.onnx also takes {string.Join(", ", extra)} (an SDXL, LCM-distilled or ControlNet UNet); " +
                    "the hub runs Stable Diffusion 1.x/2.x UNets (sample, timestep, encoder_hidden_states).");
            var sampleShape = Unet.InputMetadata[UnetNames.Sample].Dimensions;
            LatentChannels = sampleShape.Length == 4 && sampleShape[1] > 0 ? sampleShape[1]
                : (int)(Number(unet, "in_channels") ?? Number(vae, "latent_channels") ?? 4);
            var sampleSize = (int)(Number(unet, "sample_size") ?? 64);
            // The UNet halves the latent once per down block after the first; the skip concatenations need even sizes there.
            var unetLevels = unet?.TryGetProperty("block_out_channels", out var ubc) == true && ubc.ValueKind == JsonValueKind.Array ? ubc.GetArrayLength() : 4;
            SizeMultiple = VaeScaleFactor * (1 << Math.Max(0, unetLevels - 1));
            DefaultWidth = DefaultHeight = sampleSize * VaeScaleFactor;
            TextOutput = TextEncoder.OutputMetadata.ContainsKey("last_hidden_state") ? "last_hidden_state" : TextEncoder.OutputNames[0];
            TextInput = TextEncoder.InputMetadata.ContainsKey("input_ids") ? "input_ids" : TextEncoder.InputNames[0];
            var textDims = TextEncoder.InputMetadata[TextInput].Dimensions;
            TextEncoderFixedBatch = textDims.Length > 0 && textDims[0] > 0 ? textDims[0] : null;
            DefaultScheduler = SchedulerCatalog.DefaultFor(Scheduler);
        }
        catch
        {
            foreach (var s in sessions) s.Dispose();
            throw;
        }
        _tokenizer = new Lazy<ITextTokenizer>(() => TokenizerLoader.Load(Path.Combine(dir, "tokenizer")));
    }

    public ModelDescriptor Descriptor { get; }
    public string Id => Descriptor.Id;
    public InferenceSession TextEncoder { get; }
    public InferenceSession Unet { get; }
    public InferenceSession VaeDecoder { get; }
    public InferenceSession? VaeEncoder { get; }
    public SchedulerConfig Scheduler { get; }
    public string DefaultScheduler { get; }
    public double ScalingFactor { get; }
    public int VaeScaleFactor { get; }
    public int LatentChannels { get; }
    public int DefaultWidth { get; }
    public int DefaultHeight { get; }
    public int MaxTokens { get; }

    /// <summary>
    /// Steps and guidance this model is meant to run with when a request does not say (null: the service's defaults).
    /// model_index.json's "_hub_defaults" {"num_inference_steps", "guidance_scale"} when present; else a model whose id
    /// or "_name_or_path" names it a turbo model (SD-Turbo, SDXL-Turbo: adversarially distilled) runs one step without
    /// guidance, as its model card says.
    /// </summary>
    public int? DefaultSteps { get; }
    public double? DefaultGuidance { get; }

    /// <summary>The text encoder's batch when its export fixes it (then prompts are encoded one by one), else null.</summary>
    public int? TextEncoderFixedBatch { get; }

    /// <summary>"fp16" when the UNet takes float16 latents (diffusers' fp16 export), else "fp32".</summary>
    public string Precision => UnetNames.SampleType == TensorElementType.Float16 ? "fp16" : "fp32";

    /// <summary>Width and height must be multiples of this: VAE factor x 2^(UNet down blocks - 1) (16 here, 64 for SD 1.5).</summary>
    public int SizeMultiple { get; }
    public string TextInput { get; }
    public string TextOutput { get; }
    public UnetInputs UnetNames { get; }

    /// <summary>The model's CLIP tokenizer (tokenizer/ folder), loaded on first use.</summary>
    public ITextTokenizer Tokenizer => _tokenizer.Value;

    public void Dispose()
    {
        TextEncoder.Dispose();
        Unet.Dispose();
        VaeDecoder.Dispose();
        VaeEncoder?.Dispose();
    }

    private static (int? Steps, double? Guidance) GenerationDefaults(string id, JsonElement? index)
    {
        if (index is { ValueKind: JsonValueKind.Object } i && i.TryGetProperty("_hub_defaults", out var d) && d.ValueKind == JsonValueKind.Object)
        {
            var steps = Number(d, "num_inference_steps");
            return (steps is >= 1 and <= 10_000 ? (int)steps : null, Number(d, "guidance_scale") is { } g && g >= 0 ? g : null);
        }
        var name = index is { ValueKind: JsonValueKind.Object } ix && ix.TryGetProperty("_name_or_path", out var n) && n.ValueKind == JsonValueKind.String
            ? n.GetString() : null;
        return id.Contains("turbo", StringComparison.OrdinalIgnoreCase) || name?.Contains("turbo", StringComparison.OrdinalIgnoreCase) == true
            ? (1, 0.0) : (null, null);
    }

    private static double? Number(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } el && el.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}

/// <summary>
/// The UNet's inputs as the session declares them (diffusers' export: sample, timestep, encoder_hidden_states): the
/// names, the element types (float32, or float16 in fp16 exports; timestep float, int64 in Optimum's exports), the
/// batch when the export fixes it, and the timestep's shape ([batch] in diffusers, [1] when fixed, [] when scalar).
/// </summary>
public sealed record UnetInputs(string Sample, string Timestep, string EncoderHiddenStates, TensorElementType TimestepType, string Output)
{
    public TensorElementType SampleType { get; init; } = TensorElementType.Float;
    public TensorElementType HiddenType { get; init; } = TensorElementType.Float;
    public TensorElementType OutputType { get; init; } = TensorElementType.Float;

    /// <summary>The batch the export is fixed at (sample's first dimension), or null when it is dynamic.</summary>
    public int? FixedBatch { get; init; }

    /// <summary>0 for a scalar timestep, else 1.</summary>
    public int TimestepRank { get; init; } = 1;

    /// <summary>The timestep's fixed length ([1]), or null when it follows the batch.</summary>
    public int? TimestepLength { get; init; }

    public static UnetInputs From(InferenceSession unet)
    {
        var names = unet.InputNames;
        string Find(string wanted, int fallback) => names.Contains(wanted) ? wanted : names[Math.Min(fallback, names.Count - 1)];
        var sample = Find("sample", 0);
        var timestep = Find("timestep", 1);
        var hidden = Find("encoder_hidden_states", 2);
        var sampleDims = unet.InputMetadata[sample].Dimensions;
        var timestepDims = unet.InputMetadata[timestep].Dimensions;
        var output = unet.OutputNames[0];
        return new UnetInputs(sample, timestep, hidden, unet.InputMetadata[timestep].ElementDataType, output)
        {
            SampleType = unet.InputMetadata[sample].ElementDataType,
            HiddenType = unet.InputMetadata[hidden].ElementDataType,
            OutputType = unet.OutputMetadata[output].ElementDataType,
            FixedBatch = sampleDims.Length > 0 && sampleDims[0] > 0 ? sampleDims[0] : null,
            TimestepRank = timestepDims.Length == 0 ? 0 : 1,
            TimestepLength = timestepDims.Length > 0 && timestepDims[0] > 0 ? timestepDims[0] : null,
        };
    }
}
