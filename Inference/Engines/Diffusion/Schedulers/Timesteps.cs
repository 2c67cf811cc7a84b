namespace MultimodalHub.Inference.Engines.Diffusion.Schedulers;

/// <summary>
/// Inference timesteps exactly as diffusers' set_timesteps computes them (numpy semantics: round half to even),
/// for the three timestep_spacing modes, plus the sigma helpers shared by the k-diffusion style schedulers.
/// </summary>
public static class Timesteps
{
    /// <summary>
    /// DDIM / Euler style: "leading" = (arange(N) * (T // N))[::-1] + steps_offset; "trailing" =
    /// round(arange(T, 0, -T / N)) - 1; "linspace" = linspace(0, T - 1, N)[::-1] (rounded when integral is true, as DDIM does;
    /// Euler keeps the fractions).
    /// </summary>
    public static double[] Spaced(string spacing, int trainSteps, int steps, int stepsOffset, bool integral = true)
    {
        var result = new double[steps];
        switch (spacing)
        {
            case "leading":
                var ratio = trainSteps / steps;
                for (var i = 0; i < steps; i++) result[i] = (steps - 1 - i) * ratio + stepsOffset;
                break;
            case "trailing":
                var r = (double)trainSteps / steps;
                for (var i = 0; i < steps; i++) result[i] = Math.Round(trainSteps - i * r, MidpointRounding.ToEven) - 1;
                break;
            case "linspace":
                for (var i = 0; i < steps; i++)
                {
                    var v = steps == 1 ? 0 : (trainSteps - 1) * (double)(steps - 1 - i) / (steps - 1);
                    result[i] = integral ? Math.Round(v, MidpointRounding.ToEven) : v;
                }
                break;
            default:
                throw new NotSupportedException($"timestep_spacing '{spacing}' is not supported (leading, trailing, linspace).");
        }
        return result;
    }

    /// <summary>DPMSolverMultistepScheduler's own spacing (it spaces N + 1 points and drops the last for leading/linspace).</summary>
    public static double[] DpmSpaced(string spacing, int trainSteps, int steps, int stepsOffset)
    {
        var result = new double[steps];
        switch (spacing)
        {
            case "leading":
                var ratio = trainSteps / (steps + 1);
                for (var i = 0; i < steps; i++) result[i] = (steps - i) * ratio + stepsOffset;
                break;
            case "linspace":
                for (var i = 0; i < steps; i++)
                    result[i] = Math.Round((trainSteps - 1) * (double)(steps - i) / steps, MidpointRounding.ToEven);
                break;
            case "trailing":
                return Spaced("trailing", trainSteps, steps, stepsOffset);
            default:
                throw new NotSupportedException($"timestep_spacing '{spacing}' is not supported (leading, trailing, linspace).");
        }
        return result;
    }

    /// <summary>sigma(t) = sqrt((1 - a_t) / a_t) for every training timestep.</summary>
    public static double[] TrainSigmas(double[] alphasCumprod) =>
        alphasCumprod.Select(a => Math.Sqrt((1 - a) / a)).ToArray();

    /// <summary>numpy.interp(t, arange(len), values): the sigma at a (possibly fractional) timestep.</summary>
    public static double Interp(double t, double[] values)
    {
        if (t <= 0) return values[0];
        if (t >= values.Length - 1) return values[^1];
        var lo = (int)Math.Floor(t);
        var w = t - lo;
        return values[lo] * (1 - w) + values[lo + 1] * w;
    }

    /// <summary>Karras et al. (2022) sigmas: (max^(1/rho) + ramp (min^(1/rho) - max^(1/rho)))^rho, rho = 7.</summary>
    public static double[] Karras(double sigmaMin, double sigmaMax, int steps, double rho = 7.0)
    {
        var result = new double[steps];
        var minInv = Math.Pow(sigmaMin, 1 / rho);
        var maxInv = Math.Pow(sigmaMax, 1 / rho);
        for (var i = 0; i < steps; i++)
        {
            var ramp = steps == 1 ? 0 : (double)i / (steps - 1);
            result[i] = Math.Pow(maxInv + ramp * (minInv - maxInv), rho);
        }
        return result;
    }

    /// <summary>diffusers' _sigma_to_t: the fractional timestep whose log-sigma interpolates to sigma.</summary>
    public static double SigmaToT(double sigma, double[] logSigmas)
    {
        var logSigma = Math.Log(Math.Max(sigma, 1e-10));
        var count = 0;
        for (var i = 0; i < logSigmas.Length; i++) if (logSigma - logSigmas[i] >= 0) count++;
        // cumsum(dists >= 0).argmax(): the first index where the cumulative count reaches its maximum.
        var low = 0;
        var running = 0;
        for (var i = 0; i < logSigmas.Length; i++)
        {
            if (logSigma - logSigmas[i] >= 0) running++;
            if (running == count) { low = i; break; }
        }
        low = Math.Min(low, logSigmas.Length - 2);
        var high = low + 1;
        var w = (logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[high]);
        w = Math.Clamp(w, 0, 1);
        return (1 - w) * low + w * high;
    }
}
