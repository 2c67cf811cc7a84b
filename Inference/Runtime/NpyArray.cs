using System.Text;
using System.Text.RegularExpressions;

namespace MultimodalHub.Inference.Runtime;

/// <summary>
/// A NumPy .npy array (format version 1-3, C order, little-endian float32/float64/int32/int64) read as float32
/// values: the format diffusers users save noise in (np.save) and the goldens are stored in. Hand-written because it
/// is 40 lines and no .NET NumPy reader is in the package set. Malformed files throw <see cref="InvalidDataException"/>.
/// </summary>
public sealed partial record NpyArray(long[] Shape, string Dtype, float[] Data)
{
    /// <summary>The dtypes read, with their NumPy names.</summary>
    public static readonly IReadOnlyDictionary<string, string> AllTypes = new Dictionary<string, string>
    {
        ["<f4"] = "float32",
        ["<f8"] = "float64",
        ["<i4"] = "int32",
        ["<i8"] = "int64",
    };

    /// <param name="dtypes">The dtypes accepted (default <see cref="AllTypes"/>'s keys); any other is an error.</param>
    public static NpyArray Load(string path, IReadOnlyCollection<string>? dtypes = null) => Parse(File.ReadAllBytes(path), path, dtypes);

    /// <param name="name">Names the file in error messages.</param>
    public static NpyArray Parse(byte[] bytes, string name, IReadOnlyCollection<string>? dtypes = null)
    {
        dtypes ??= [.. AllTypes.Keys];
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{name} is not a .npy file.");
        int headerLength, offset;
        if (bytes[6] == 1) { headerLength = BitConverter.ToUInt16(bytes, 8); offset = 10; }
        else { headerLength = (int)BitConverter.ToUInt32(bytes, 8); offset = 12; }
        if (headerLength < 0 || offset + headerLength > bytes.Length)
            throw new InvalidDataException($"{name}: the .npy header is truncated.");
        var header = Encoding.ASCII.GetString(bytes, offset, headerLength);
        var descr = Descr().Match(header).Groups[1].Value;
        if (FortranOrder().IsMatch(header)) throw new InvalidDataException($"{name}: Fortran-order arrays are not supported.");
        var shape = ShapeOf().Match(header).Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        if (!dtypes.Contains(descr) || !AllTypes.ContainsKey(descr))
            throw new InvalidDataException($"{name}: dtype {descr} is not supported ({string.Join(" or ", dtypes.Select(d => AllTypes[d]))}).");
        var size = descr is "<f4" or "<i4" ? 4 : 8;
        var body = bytes.AsSpan(offset + headerLength);
        if (body.Length < (long)count * size)
            throw new InvalidDataException($"{name}: the data is truncated ({body.Length} bytes for {count} values of {descr}).");
        var data = new float[count];
        for (var i = 0; i < count; i++)
        {
            var item = body.Slice(i * size, size);
            data[i] = descr switch
            {
                "<f4" => BitConverter.ToSingle(item),
                "<f8" => (float)BitConverter.ToDouble(item),
                "<i4" => BitConverter.ToInt32(item),
                _ => BitConverter.ToInt64(item),
            };
        }
        return new NpyArray(shape, descr, data);
    }

    [GeneratedRegex(@"'descr':\s*'([^']+)'")] private static partial Regex Descr();
    [GeneratedRegex(@"'fortran_order':\s*True")] private static partial Regex FortranOrder();
    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")] private static partial Regex ShapeOf();
}
