using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Reads a float32/float64 .npy array (<see cref="NpyArray"/>) for `imagine --latents/--step-noise`.</summary>
public static class LatentsFile
{
    public static (long[] Shape, float[] Data) Read(string path)
    {
        NpyArray array;
        try { array = NpyArray.Load(path, ["<f4", "<f8"]); }
        catch (InvalidDataException e) { throw new InvalidRequestException("latents", e.Message); }
        return (array.Shape, array.Data);
    }
}
