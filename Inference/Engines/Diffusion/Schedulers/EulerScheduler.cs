namespace MultimodalHub.Inference.Engines.Diffusion.Schedulers;

/// <summary>
/// diffusers EulerDiscreteScheduler (s_churn 0): sigmas = sqrt((1-a)/a) interpolated at the timesteps (Karras
/// optional), then 0; input x / sqrt(sigma^2+1); x0 = x - sigma eps; x_next = x + (x - x0) / sigma * (sigma_next - sigma).
/// The UNet gets the timestep t, not sigma. Also the base of <see cref="EulerAncestralScheduler"/>.
/// </summary>
public class EulerScheduler : IDiffusionScheduler
{
    protected SchedulerConfig Config { get; }
    protected double[] SigmaList { get; }
    private readonly double[] _timesteps;

    public EulerScheduler(SchedulerConfig config, int steps, bool karras = false)
    {
        Config = config;
        var trainSigmas = Schedulers.Timesteps.TrainSigmas(config.AlphasCumprod());
        var t = Schedulers.Timesteps.Spaced(config.TimestepSpacing, config.NumTrainTimesteps, steps, config.StepsOffset, integral: false);
        var sigmas = t.Select(x => Schedulers.Timesteps.Interp(x, trainSigmas)).ToArray();
        if (karras)
        {
            var logSigmas = trainSigmas.Select(s => Math.Log(s)).ToArray();
            sigmas = Schedulers.Timesteps.Karras(sigmas[^1], sigmas[0], steps);
            t = sigmas.Select(s => Schedulers.Timesteps.SigmaToT(s, logSigmas)).ToArray();
        }
        _timesteps = t;
        SigmaList = [.. sigmas, 0.0];
        var max = sigmas.Max();
        InitNoiseSigma = config.TimestepSpacing is "linspace" or "trailing" ? max : Math.Sqrt(max * max + 1);
    }

    public virtual string Name => "euler";
    public IReadOnlyList<double> Timesteps => _timesteps;
    public IReadOnlyList<double>? Sigmas => SigmaList;
    public double InitNoiseSigma { get; }

    public float[] ScaleModelInput(float[] sample, int index)
    {
        var s = SigmaList[index];
        var scale = 1 / Math.Sqrt(s * s + 1);
        var result = new float[sample.Length];
        for (var i = 0; i < result.Length; i++) result[i] = (float)(sample[i] * scale);
        return result;
    }

    public virtual SchedulerStep Step(float[] modelOutput, int index, float[] sample, INoiseSource noise)
    {
        double sigma = SigmaList[index], next = SigmaList[index + 1];
        var x0 = Prediction.FromSigma(Config.PredictionType, modelOutput, sample, sigma);
        var dt = next - sigma;
        var prev = new float[sample.Length];
        for (var i = 0; i < prev.Length; i++) prev[i] = (float)(sample[i] + (sample[i] - x0[i]) / sigma * dt);
        return new SchedulerStep(prev, x0);
    }

    /// <summary>Sigma-space forward diffusion: x0 + noise * sigma.</summary>
    public float[] AddNoise(float[] original, float[] noise, int index)
    {
        var sigma = SigmaList[index];
        var result = new float[original.Length];
        for (var i = 0; i < result.Length; i++) result[i] = (float)(original[i] + noise[i] * sigma);
        return result;
    }
}
