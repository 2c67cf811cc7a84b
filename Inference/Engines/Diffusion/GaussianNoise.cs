namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Where a sampling run gets its standard normal noise: the start latents first, then any per-step noise.</summary>
public interface INoiseSource
{
    /// <summary>The next <paramref name="count"/> standard normal values.</summary>
    float[] Next(int count);
}

/// <summary>
/// The hub's seeded Gaussian generator, the same on every machine and run (no dependence on System.Random, whose
/// algorithm .NET does not promise to keep, nor on the CPU or thread count):
/// <list type="bullet">
/// <item>the 64-bit seed is expanded into the 256-bit state of xoshiro256** (Blackman &amp; Vigna, 2018) with
/// SplitMix64, as the xoshiro authors recommend;</item>
/// <item>uniforms are the top 53 bits of each output, u = (x &gt;&gt; 11) * 2^-53 in [0, 1);</item>
/// <item>normals come in pairs from the Box-Muller transform with u1' = 1 - u1 in (0, 1]:
/// z0 = sqrt(-2 ln u1') cos(2 pi u2), z1 = sqrt(-2 ln u1') sin(2 pi u2), computed in double, then rounded to float32.</item>
/// </list>
/// Values are produced in order: the start latents (C*H*W values in NCHW order) and then, for stochastic samplers,
/// each step's noise. Image i of a batch uses its own generator seeded with seed + i.
/// </summary>
public sealed class GaussianNoise : INoiseSource
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spare;

    public GaussianNoise(long seed)
    {
        var x = unchecked((ulong)seed);
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    public float[] Next(int count)
    {
        var result = new float[count];
        for (var i = 0; i < count; i++) result[i] = (float)NextGaussian();
        return result;
    }

    public double NextGaussian()
    {
        if (_spare is { } s) { _spare = null; return s; }
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        var r = Math.Sqrt(-2.0 * Math.Log(u1));
        var theta = 2.0 * Math.PI * u2;
        _spare = r * Math.Sin(theta);
        return r * Math.Cos(theta);
    }

    /// <summary>Uniform in [0, 1) from the top 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>xoshiro256** 1.0.</summary>
    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>
/// Given noise, to reproduce a result from another implementation (diffusers' latents=, the goldens): the first
/// request gets <paramref name="initial"/>, later ones consecutive slices of <paramref name="steps"/> (e.g. Euler
/// ancestral's per-step noise). Asking for more than was given is an error, not silent zeros.
/// </summary>
public sealed class GivenNoise(float[] initial, float[]? steps = null) : INoiseSource
{
    private bool _initialUsed;
    private int _offset;

    public float[] Next(int count)
    {
        if (!_initialUsed)
        {
            _initialUsed = true;
            if (initial.Length != count) throw new Runtime.InvalidRequestException("latents", $"The given latents have {initial.Length} values; this run needs {count}.");
            return initial;
        }
        if (steps is null || _offset + count > steps.Length)
            throw new Runtime.InvalidRequestException("step_noise", "This sampler needs per-step noise beyond what was given.");
        var result = steps.AsSpan(_offset, count).ToArray();
        _offset += count;
        return result;
    }
}
