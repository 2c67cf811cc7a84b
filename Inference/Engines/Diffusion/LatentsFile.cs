using System.Text;
using System.Text.RegularExpressions;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// Reads a NumPy .npy array of float32/float64 (C order, little-endian) for `imagine --latents/--step-noise`: the
/// format diffusers users save noise in (np.save). Hand-written because it is 30 lines and no .NET NumPy reader
/// is in the package set.
/// </summary>
public static partial class LatentsFile
{
    public static (long[] Shape, float[] Data) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new Runtime.InvalidRequestException("latents", $"{path} is not a .npy file.");
        int headerLength, offset;
        if (bytes[6] == 1) { headerLength = BitConverter.ToUInt16(bytes, 8); offset = 10; }
        else { headerLength = (int)BitConverter.ToUInt32(bytes, 8); offset = 12; }
        var header = Encoding.ASCII.GetString(bytes, offset, headerLength);
        var descr = Descr().Match(header).Groups[1].Value;
        if (FortranOrder().IsMatch(header)) throw new Runtime.InvalidRequestException("latents", $"{path}: Fortran-order arrays are not supported.");
        var shape = ShapeOf().Match(header).Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var body = bytes.AsSpan(offset + headerLength);
        var data = new float[count];
        switch (descr)
        {
            case "<f4": for (var i = 0; i < count; i++) data[i] = BitConverter.ToSingle(body.Slice(i * 4, 4)); break;
            case "<f8": for (var i = 0; i < count; i++) data[i] = (float)BitConverter.ToDouble(body.Slice(i * 8, 8)); break;
            default: throw new Runtime.InvalidRequestException("latents", $"{path}: dtype {descr} is not supported (float32 or float64).");
        }
        return (shape, data);
    }

    [GeneratedRegex(@"'descr':\s*'([^']+)'")] private static partial Regex Descr();
    [GeneratedRegex(@"'fortran_order':\s*True")] private static partial Regex FortranOrder();
    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")] private static partial Regex ShapeOf();
}
