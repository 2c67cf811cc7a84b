namespace MultimodalHub.Inference.Engines.Diffusion.Schedulers;

/// <summary>
/// diffusers DPMSolverMultistepScheduler with algorithm_type "dpmsolver++", solver_order 2, solver_type "midpoint",
/// final_sigmas_type "zero" (so the last step is first order), optional Karras sigmas. Works on the data prediction
/// x0 in the VP parameterisation: alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma alpha_t, lambda = log(alpha_t / sigma_t).
/// </summary>
public sealed class DpmSolverMultistepScheduler : IDiffusionScheduler
{
    private readonly SchedulerConfig _config;
    private readonly double[] _timesteps;
    private readonly double[] _sigmas;
    /// <summary>The previous step's x0; null before the first step, which is first order (diffusers' lower_order_nums &lt; 1).</summary>
    private float[]? _previousX0;

    public DpmSolverMultistepScheduler(SchedulerConfig config, int steps, bool karras)
    {
        _config = config;
        Karras = karras;
        var trainSigmas = Schedulers.Timesteps.TrainSigmas(config.AlphasCumprod());
        var t = Schedulers.Timesteps.DpmSpaced(config.TimestepSpacing, config.NumTrainTimesteps, steps, config.StepsOffset);
        double[] sigmas;
        if (karras)
        {
            var logSigmas = trainSigmas.Select(s => Math.Log(s)).ToArray();
            sigmas = Schedulers.Timesteps.Karras(trainSigmas[0], trainSigmas[^1], steps);
            t = sigmas.Select(s => Math.Round(Schedulers.Timesteps.SigmaToT(s, logSigmas), MidpointRounding.ToEven)).ToArray();
        }
        else
        {
            sigmas = t.Select(x => Schedulers.Timesteps.Interp(x, trainSigmas)).ToArray();
        }
        _timesteps = t;
        _sigmas = [.. sigmas, 0.0];
    }

    public bool Karras { get; }
    public string Name => Karras ? "dpmpp_2m_karras" : "dpmpp_2m";
    public IReadOnlyList<double> Timesteps => _timesteps;
    public IReadOnlyList<double>? Sigmas => _sigmas;
    public double InitNoiseSigma => 1.0;

    public float[] ScaleModelInput(float[] sample, int index) => sample;

    private static (double Alpha, double Sigma) AlphaSigma(double sigma)
    {
        var alpha = 1 / Math.Sqrt(sigma * sigma + 1);
        return (alpha, sigma * alpha);
    }

    public SchedulerStep Step(float[] modelOutput, int index, float[] sample, INoiseSource noise)
    {
        var (alphaS0, sigmaS0) = AlphaSigma(_sigmas[index]);
        // alpha_cumprod at this step = alpha_t^2 in the VP parameterisation.
        var (x0, _) = Prediction.FromAlpha(_config.PredictionType, modelOutput, sample, alphaS0 * alphaS0);
        var prev = new float[sample.Length];
        var next = _sigmas[index + 1];
        if (next == 0)
        {
            // sigma_next = 0: lambda_t = inf, exp(-h) = 0, the update is x0 itself.
            Array.Copy(x0, prev, prev.Length);
        }
        else
        {
            var (alphaT, sigmaT) = AlphaSigma(next);
            var lambdaT = Math.Log(alphaT) - Math.Log(sigmaT);
            var lambdaS0 = Math.Log(alphaS0) - Math.Log(sigmaS0);
            var h = lambdaT - lambdaS0;
            var ratio = sigmaT / sigmaS0;
            var c = alphaT * (Math.Exp(-h) - 1);
            // The last step (sigma_next = 0, final_sigmas_type "zero") took the branch above: first order there.
            if (_previousX0 is null)
            {
                for (var i = 0; i < prev.Length; i++) prev[i] = (float)(ratio * sample[i] - c * x0[i]);
            }
            else
            {
                var (alphaS1, sigmaS1) = AlphaSigma(_sigmas[index - 1]);
                var lambdaS1 = Math.Log(alphaS1) - Math.Log(sigmaS1);
                var r0 = (lambdaS0 - lambdaS1) / h;
                for (var i = 0; i < prev.Length; i++)
                {
                    var d1 = (x0[i] - _previousX0[i]) / r0;
                    prev[i] = (float)(ratio * sample[i] - c * x0[i] - 0.5 * c * d1);
                }
            }
        }
        _previousX0 = x0;
        return new SchedulerStep(prev, x0);
    }

    /// <summary>VP forward diffusion at the step's sigma: alpha_t x0 + sigma_t noise.</summary>
    public float[] AddNoise(float[] original, float[] noise, int index)
    {
        var (alpha, sigma) = AlphaSigma(_sigmas[index]);
        var result = new float[original.Length];
        for (var i = 0; i < result.Length; i++) result[i] = (float)(alpha * original[i] + sigma * noise[i]);
        return result;
    }
}
