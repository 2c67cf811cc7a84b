using MultimodalHub.Inference.Engines.Diffusion;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Diffusion;

namespace MultimodalHub.Tests.Core;

/// <summary>The one .npy reader: the goldens load through it, and malformed files are clear errors, never a crash.</summary>
public sealed class NpyArrayTests
{
    private static byte[] Golden => File.ReadAllBytes(SdShapesFixture.Golden("p0_euler_a_noise.npy"));

    [Fact]
    public void Reads_a_golden_float32_array()
    {
        var array = NpyArray.Parse(Golden, "noise");
        Assert.Equal("<f4", array.Dtype);
        Assert.Equal(array.Shape.Aggregate(1L, (a, b) => a * b), array.Data.Length);
        Assert.All(array.Data, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Truncated_data_and_other_bytes_are_invalid_data()
    {
        var golden = Golden;
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => NpyArray.Parse(golden[..^4], "cut.npy")).Message);
        Assert.Contains("not a .npy", Assert.Throws<InvalidDataException>(() => NpyArray.Parse("hello world"u8.ToArray(), "x")).Message);
        Assert.Contains("header is truncated", Assert.Throws<InvalidDataException>(() => NpyArray.Parse(golden[..20], "h.npy")).Message);
    }

    [Fact]
    public void Latents_accept_only_float_arrays_and_name_the_field()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ints-{Guid.NewGuid():N}.npy");
        var bytes = Golden;
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        var at = text.IndexOf("'<f4'", StringComparison.Ordinal);
        bytes[at + 2] = (byte)'i'; // same size, now int32
        File.WriteAllBytes(path, bytes);
        try
        {
            Assert.Equal("<i4", NpyArray.Load(path).Dtype);
            var e = Assert.Throws<InvalidRequestException>(() => LatentsFile.Read(path));
            Assert.Equal("latents", e.Field);
            Assert.EndsWith("dtype <i4 is not supported (float32 or float64).", e.Message);
        }
        finally { File.Delete(path); }
    }
}
