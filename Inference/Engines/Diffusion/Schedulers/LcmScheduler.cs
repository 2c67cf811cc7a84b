namespace MultimodalHub.Inference.Engines.Diffusion.Schedulers;

/// <summary>
/// diffusers LCMScheduler (latent consistency, few steps: 1-8, for LCM/turbo-distilled models): timesteps picked from
/// the original_inference_steps (50) grid, denoised = c_out x0 + c_skip x with the boundary-condition scalings
/// (sigma_data 0.5, timestep_scaling 10), then re-noised to the next timestep with fresh noise (except at the end).
/// </summary>
public sealed class LcmScheduler : IDiffusionScheduler
{
    private const double SigmaData = 0.5;
    private readonly SchedulerConfig _config;
    private readonly double[] _alphas;
    private readonly double[] _timesteps;

    public LcmScheduler(SchedulerConfig config, int steps)
    {
        _config = config;
        _alphas = config.AlphasCumprod();
        var original = config.OriginalInferenceSteps;
        // diffusers raises here too; the request validation keeps steps within original_inference_steps.
        if (steps > original) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"LCM takes at most original_inference_steps ({original}) steps.");
        var k = config.NumTrainTimesteps / original;
        var origin = Enumerable.Range(1, original).Select(i => i * k - 1).Reverse().ToArray();
        _timesteps = new double[steps];
        for (var i = 0; i < steps; i++) _timesteps[i] = origin[(int)Math.Floor(i * (double)origin.Length / steps)];
    }

    public string Name => "lcm";
    public IReadOnlyList<double> Timesteps => _timesteps;
    public IReadOnlyList<double>? Sigmas => null;
    public double InitNoiseSigma => 1.0;

    public float[] ScaleModelInput(float[] sample, int index) => sample;

    public SchedulerStep Step(float[] modelOutput, int index, float[] sample, INoiseSource noise)
    {
        var t = (int)_timesteps[index];
        var last = index == _timesteps.Length - 1;
        var (x0, _) = Prediction.FromAlpha(_config.PredictionType, modelOutput, sample, _alphas[t]);
        var scaled = t * _config.TimestepScaling;
        var cSkip = SigmaData * SigmaData / (scaled * scaled + SigmaData * SigmaData);
        var cOut = scaled / Math.Sqrt(scaled * scaled + SigmaData * SigmaData);
        var denoised = new float[sample.Length];
        for (var i = 0; i < denoised.Length; i++) denoised[i] = (float)(cOut * x0[i] + cSkip * sample[i]);
        if (last) return new SchedulerStep(denoised, denoised);
        // Timesteps are on the original grid (all >= 0): the next one's alpha, never the final alpha.
        var z = noise.Next(sample.Length);
        return new SchedulerStep(AlphaNoise.Add(denoised, z, _alphas[(int)_timesteps[index + 1]]), denoised);
    }

    public float[] AddNoise(float[] original, float[] noise, int index) => AlphaNoise.Add(original, noise, _alphas[(int)_timesteps[index]]);
}
