namespace MultimodalHub.Inference.Engines.Diffusion.Schedulers;

/// <summary>
/// diffusers DDIMScheduler with eta = 0 (deterministic): x0 = (x - sqrt(1-a_t) eps) / sqrt(a_t);
/// x_prev = sqrt(a_prev) x0 + sqrt(1-a_prev) eps, a_prev = alphas_cumprod[t - T/N] or the final alpha
/// (1 when set_alpha_to_one, else alphas_cumprod[0]).
/// </summary>
public sealed class DdimScheduler : IDiffusionScheduler
{
    private readonly SchedulerConfig _config;
    private readonly double[] _alphas;
    private readonly double _finalAlpha;
    private readonly int _stride;
    private readonly double[] _timesteps;

    public DdimScheduler(SchedulerConfig config, int steps)
    {
        _config = config;
        _alphas = config.AlphasCumprod();
        _finalAlpha = config.SetAlphaToOne ? 1.0 : _alphas[0];
        _stride = config.NumTrainTimesteps / steps;
        _timesteps = Schedulers.Timesteps.Spaced(config.TimestepSpacing, config.NumTrainTimesteps, steps, config.StepsOffset);
    }

    public string Name => "ddim";
    public IReadOnlyList<double> Timesteps => _timesteps;
    public IReadOnlyList<double>? Sigmas => null;
    public double InitNoiseSigma => 1.0;

    public double AlphaAt(int index) => _alphas[(int)_timesteps[index]];

    public double AlphaPrevAt(int index)
    {
        var prev = (int)_timesteps[index] - _stride;
        return prev >= 0 ? _alphas[prev] : _finalAlpha;
    }

    public float[] ScaleModelInput(float[] sample, int index) => sample;

    public SchedulerStep Step(float[] modelOutput, int index, float[] sample, INoiseSource noise)
    {
        var (x0, eps) = Prediction.FromAlpha(_config.PredictionType, modelOutput, sample, AlphaAt(index));
        var aPrev = AlphaPrevAt(index);
        double sa = Math.Sqrt(aPrev), sb = Math.Sqrt(1 - aPrev);
        var prev = new float[sample.Length];
        for (var i = 0; i < prev.Length; i++) prev[i] = (float)(sa * x0[i] + sb * eps[i]);
        return new SchedulerStep(prev, x0);
    }

    public float[] AddNoise(float[] original, float[] noise, int index) => AlphaNoise.Add(original, noise, AlphaAt(index));
}

/// <summary>Forward diffusion q(x_t | x_0) = sqrt(a) x0 + sqrt(1-a) noise.</summary>
internal static class AlphaNoise
{
    public static float[] Add(float[] original, float[] noise, double a)
    {
        double sa = Math.Sqrt(a), sb = Math.Sqrt(1 - a);
        var result = new float[original.Length];
        for (var i = 0; i < result.Length; i++) result[i] = (float)(sa * original[i] + sb * noise[i]);
        return result;
    }
}
