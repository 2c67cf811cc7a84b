namespace MultimodalHub.Inference.Engines.Diffusion.Schedulers;

/// <summary>
/// One sampling run's scheduler, set up for a number of steps (diffusers' set_timesteps done in the constructor).
/// Index-based: step i uses Timesteps[i]; stateful ones (DPM-Solver multistep) expect the steps in order.
/// </summary>
public interface IDiffusionScheduler
{
    /// <summary>The canonical name (ddim, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lcm).</summary>
    string Name { get; }

    /// <summary>The timestep the UNet gets at each step (fractional for some spacings).</summary>
    IReadOnlyList<double> Timesteps { get; }

    /// <summary>Sigmas (one more than steps, ending with 0) for the sigma-space schedulers; null for DDIM/LCM.</summary>
    IReadOnlyList<double>? Sigmas { get; }

    /// <summary>Start latents = standard normal noise * this.</summary>
    double InitNoiseSigma { get; }

    /// <summary>The UNet input at step i (Euler family: x / sqrt(sigma^2 + 1); others: x itself).</summary>
    float[] ScaleModelInput(float[] sample, int index);

    /// <summary>One denoising step from the (guided) model output; draws fresh noise from <paramref name="noise"/> when the sampler is stochastic.</summary>
    SchedulerStep Step(float[] modelOutput, int index, float[] sample, INoiseSource noise);

    /// <summary>Img2img: noise clean latents to the level of step <paramref name="index"/>.</summary>
    float[] AddNoise(float[] original, float[] noise, int index);
}

/// <summary>The latents after a step and the model's current estimate of the clean latents (used for previews).</summary>
public sealed record SchedulerStep(float[] PrevSample, float[] PredictedOriginal);

/// <summary>How the model output is read (scheduler_config prediction_type), in the alpha (VP) parameterisation.</summary>
internal static class Prediction
{
    /// <summary>Returns (x0, eps) from the model output at alpha_cumprod a.</summary>
    public static (float[] X0, float[] Eps) FromAlpha(string type, float[] output, float[] sample, double a)
    {
        var sa = Math.Sqrt(a);
        var sb = Math.Sqrt(1 - a);
        var x0 = new float[sample.Length];
        var eps = new float[sample.Length];
        for (var i = 0; i < sample.Length; i++)
        {
            double x = sample[i], m = output[i];
            switch (type)
            {
                case "epsilon": x0[i] = (float)((x - sb * m) / sa); eps[i] = (float)m; break;
                case "v_prediction": x0[i] = (float)(sa * x - sb * m); eps[i] = (float)(sa * m + sb * x); break;
                case "sample": x0[i] = (float)m; eps[i] = (float)((x - sa * m) / sb); break;
                default: throw new NotSupportedException($"prediction_type '{type}' is not supported.");
            }
        }
        return (x0, eps);
    }

    /// <summary>x0 for the sigma (VE) parameterisation of the Euler samplers.</summary>
    public static float[] FromSigma(string type, float[] output, float[] sample, double sigma)
    {
        var x0 = new float[sample.Length];
        var c = 1 / (sigma * sigma + 1);
        for (var i = 0; i < sample.Length; i++)
        {
            x0[i] = type switch
            {
                "epsilon" => (float)(sample[i] - sigma * output[i]),
                "v_prediction" => (float)(output[i] * (-sigma / Math.Sqrt(sigma * sigma + 1)) + sample[i] * c),
                _ => throw new NotSupportedException($"prediction_type '{type}' is not supported by this scheduler."),
            };
        }
        return x0;
    }
}
