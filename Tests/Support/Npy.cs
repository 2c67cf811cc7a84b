using System.Text;
using System.Text.RegularExpressions;

namespace MultimodalHub.Tests.Support;

/// <summary>Reads the goldens' NumPy .npy files (version 1/2/3, little-endian float32/float64/int32/int64, C order).</summary>
public sealed record NpyArray(long[] Shape, string Dtype, float[] Data)
{
    public static NpyArray Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{path} is not a .npy file");
        var major = bytes[6];
        int headerLen, offset;
        if (major == 1) { headerLen = BitConverter.ToUInt16(bytes, 8); offset = 10; }
        else { headerLen = (int)BitConverter.ToUInt32(bytes, 8); offset = 12; }
        var header = Encoding.ASCII.GetString(bytes, offset, headerLen);
        var descr = Regex.Match(header, @"'descr':\s*'([^']+)'").Groups[1].Value;
        if (Regex.IsMatch(header, @"'fortran_order':\s*True")) throw new NotSupportedException("Fortran order");
        var shapeText = Regex.Match(header, @"'shape':\s*\(([^)]*)\)").Groups[1].Value;
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var body = bytes.AsSpan(offset + headerLen);
        var data = new float[count];
        switch (descr)
        {
            case "<f4": for (var i = 0; i < count; i++) data[i] = BitConverter.ToSingle(body.Slice(i * 4, 4)); break;
            case "<f8": for (var i = 0; i < count; i++) data[i] = (float)BitConverter.ToDouble(body.Slice(i * 8, 8)); break;
            case "<i4": for (var i = 0; i < count; i++) data[i] = BitConverter.ToInt32(body.Slice(i * 4, 4)); break;
            case "<i8": for (var i = 0; i < count; i++) data[i] = BitConverter.ToInt64(body.Slice(i * 8, 8)); break;
            default: throw new NotSupportedException($"dtype {descr}");
        }
        return new NpyArray(shape, descr, data);
    }
}
