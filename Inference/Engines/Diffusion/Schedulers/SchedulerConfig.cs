using System.Text.Json;

namespace MultimodalHub.Inference.Engines.Diffusion.Schedulers;

/// <summary>
/// scheduler/scheduler_config.json as diffusers reads it (the fields the hub's schedulers use, with diffusers'
/// defaults when a field is missing). Betas and alphas_cumprod are computed in double precision.
/// </summary>
public sealed record SchedulerConfig
{
    public string ClassName { get; init; } = "DDIMScheduler";
    public int NumTrainTimesteps { get; init; } = 1000;
    public double BetaStart { get; init; } = 0.0001;
    public double BetaEnd { get; init; } = 0.02;
    public string BetaSchedule { get; init; } = "linear";
    public double[]? TrainedBetas { get; init; }
    public string PredictionType { get; init; } = "epsilon";
    public int StepsOffset { get; init; }
    public bool SetAlphaToOne { get; init; } = true;
    public string TimestepSpacing { get; init; } = "leading";
    public bool UseKarrasSigmas { get; init; }
    /// <summary>LCM: the original (distillation) step count and the boundary-condition timestep scaling.</summary>
    public int OriginalInferenceSteps { get; init; } = 50;
    public double TimestepScaling { get; init; } = 10.0;

    public static SchedulerConfig Default { get; } = new();

    public static SchedulerConfig Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var r = doc.RootElement;
        string Str(string name, string fallback) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : fallback;
        double Num(string name, double fallback) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : fallback;
        bool Bool(string name, bool fallback) => r.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
        double[]? betas = r.TryGetProperty("trained_betas", out var tb) && tb.ValueKind == JsonValueKind.Array
            ? tb.EnumerateArray().Select(e => e.GetDouble()).ToArray() : null;
        var d = new SchedulerConfig();
        return new SchedulerConfig
        {
            ClassName = Str("_class_name", d.ClassName),
            NumTrainTimesteps = (int)Num("num_train_timesteps", d.NumTrainTimesteps),
            BetaStart = Num("beta_start", d.BetaStart),
            BetaEnd = Num("beta_end", d.BetaEnd),
            BetaSchedule = Str("beta_schedule", d.BetaSchedule),
            TrainedBetas = betas,
            PredictionType = Str("prediction_type", d.PredictionType),
            StepsOffset = (int)Num("steps_offset", d.StepsOffset),
            SetAlphaToOne = Bool("set_alpha_to_one", d.SetAlphaToOne),
            TimestepSpacing = Str("timestep_spacing", d.TimestepSpacing),
            UseKarrasSigmas = Bool("use_karras_sigmas", false),
            OriginalInferenceSteps = (int)Num("original_inference_steps", d.OriginalInferenceSteps),
            TimestepScaling = Num("timestep_scaling", d.TimestepScaling),
        };
    }

    /// <summary>betas as diffusers builds them: linear, scaled_linear (linspace of square roots, squared) or squaredcos_cap_v2.</summary>
    public double[] Betas()
    {
        var n = NumTrainTimesteps;
        if (TrainedBetas is { Length: > 0 }) return TrainedBetas;
        var betas = new double[n];
        switch (BetaSchedule)
        {
            case "linear":
                for (var i = 0; i < n; i++) betas[i] = Lerp(BetaStart, BetaEnd, i, n);
                break;
            case "scaled_linear":
                for (var i = 0; i < n; i++) { var s = Lerp(Math.Sqrt(BetaStart), Math.Sqrt(BetaEnd), i, n); betas[i] = s * s; }
                break;
            case "squaredcos_cap_v2":
                static double AlphaBar(double t) => Math.Pow(Math.Cos((t + 0.008) / 1.008 * Math.PI / 2), 2);
                for (var i = 0; i < n; i++) betas[i] = Math.Min(1 - AlphaBar((i + 1.0) / n) / AlphaBar((double)i / n), 0.999);
                break;
            default:
                throw new NotSupportedException($"beta_schedule '{BetaSchedule}' is not supported.");
        }
        return betas;
    }

    /// <summary>alphas_cumprod = cumprod(1 - betas).</summary>
    public double[] AlphasCumprod()
    {
        var betas = Betas();
        var result = new double[betas.Length];
        var p = 1.0;
        for (var i = 0; i < betas.Length; i++) { p *= 1 - betas[i]; result[i] = p; }
        return result;
    }

    private static double Lerp(double a, double b, int i, int n) => n == 1 ? a : a + (b - a) * i / (n - 1);
}
