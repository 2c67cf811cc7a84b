namespace MultimodalHub.Inference.Engines.Diffusion.Schedulers;

/// <summary>
/// diffusers EulerAncestralDiscreteScheduler: sigma_up = sqrt(s_next^2 (s^2 - s_next^2) / s^2), sigma_down =
/// sqrt(s_next^2 - sigma_up^2); x_next = x + (x - x0) / s * (sigma_down - s) + N(0,1) * sigma_up. Fresh noise each
/// step comes from the run's noise source (the seeded generator, or given step noise to reproduce a result).
/// </summary>
public sealed class EulerAncestralScheduler(SchedulerConfig config, int steps) : EulerScheduler(config, steps)
{
    public override string Name => "euler_a";

    public (double Up, double Down) UpDown(int index)
    {
        double from = SigmaList[index], to = SigmaList[index + 1];
        var up = Math.Sqrt(to * to * (from * from - to * to) / (from * from));
        var down = Math.Sqrt(to * to - up * up);
        return (up, down);
    }

    public override SchedulerStep Step(float[] modelOutput, int index, float[] sample, INoiseSource noise)
    {
        var sigma = SigmaList[index];
        var x0 = Prediction.FromSigma(Config.PredictionType, modelOutput, sample, sigma);
        var (up, down) = UpDown(index);
        var dt = down - sigma;
        var z = noise.Next(sample.Length);
        var prev = new float[sample.Length];
        for (var i = 0; i < prev.Length; i++) prev[i] = (float)(sample[i] + (sample[i] - x0[i]) / sigma * dt + z[i] * up);
        return new SchedulerStep(prev, x0);
    }
}
