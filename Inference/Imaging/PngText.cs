using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;

namespace MultimodalHub.Inference.Imaging;

/// <summary>
/// PNG text chunks, written into and read from encoded PNG bytes. SkiaSharp's encoder cannot write them, so the
/// chunks are spliced in before the first IDAT: tEXt when the text is Latin-1, else iTXt (UTF-8), which is what PIL's
/// PngInfo.add_text does, so AUTOMATIC1111's "parameters" chunk reads the same in every tool.
/// </summary>
public static class PngText
{
    private const int MaxInflatedText = 1 << 20;

    /// <summary>The PNG with the given text chunks inserted before its first IDAT chunk.</summary>
    public static byte[] Insert(ReadOnlySpan<byte> png, IReadOnlyDictionary<string, string> text)
    {
        if (!png.StartsWith(ImageGuards.PngSignature)) throw new ArgumentException("Not a PNG.", nameof(png));
        var at = FindChunk(png, "IDAT"u8) ?? throw new ArgumentException("The PNG has no IDAT chunk.", nameof(png));
        using var output = new MemoryStream(png.Length + text.Sum(t => t.Key.Length + t.Value.Length * 3 + 32));
        output.Write(png[..at]);
        foreach (var (keyword, value) in text) WriteChunk(output, IsLatin1(value) ? "tEXt"u8 : "iTXt"u8, TextChunkData(keyword, value));
        output.Write(png[at..]);
        return output.ToArray();
    }

    /// <summary>Every tEXt, zTXt and iTXt chunk (keyword → text; a later chunk with the same keyword wins). Empty when not a PNG.</summary>
    public static IReadOnlyDictionary<string, string> Read(ReadOnlySpan<byte> png)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!png.StartsWith(ImageGuards.PngSignature)) return result;
        var pos = 8;
        while (pos + 12 <= png.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[pos..]);
            if (length > int.MaxValue || pos + 12 + (long)length > png.Length) break;
            var type = png.Slice(pos + 4, 4);
            var data = png.Slice(pos + 8, (int)length);
            if (TryParseText(type, data, out var keyword, out var value)) result[keyword] = value;
            if (type.SequenceEqual("IEND"u8)) break;
            pos += 12 + (int)length;
        }
        return result;
    }

    private static bool TryParseText(ReadOnlySpan<byte> type, ReadOnlySpan<byte> data, out string keyword, out string value)
    {
        keyword = value = "";
        var nul = data.IndexOf((byte)0);
        if (nul <= 0) return false;
        keyword = Encoding.Latin1.GetString(data[..nul]);
        var rest = data[(nul + 1)..];
        try
        {
            if (type.SequenceEqual("tEXt"u8)) { value = Encoding.Latin1.GetString(rest); return true; }
            if (type.SequenceEqual("zTXt"u8))
            {
                if (rest.Length < 1 || rest[0] != 0) return false;
                value = Encoding.Latin1.GetString(Inflate(rest[1..]));
                return true;
            }
            if (type.SequenceEqual("iTXt"u8))
            {
                if (rest.Length < 2) return false;
                var compressed = rest[0] == 1;
                rest = rest[2..];
                var langEnd = rest.IndexOf((byte)0);
                if (langEnd < 0) return false;
                rest = rest[(langEnd + 1)..];
                var translatedEnd = rest.IndexOf((byte)0);
                if (translatedEnd < 0) return false;
                rest = rest[(translatedEnd + 1)..];
                value = Encoding.UTF8.GetString(compressed ? Inflate(rest) : rest);
                return true;
            }
        }
        catch (InvalidDataException)
        {
            return false;
        }
        return false;
    }

    private static byte[] Inflate(ReadOnlySpan<byte> compressed)
    {
        using var input = new ZLibStream(new MemoryStream(compressed.ToArray()), CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[16384];
        int n;
        while ((n = input.Read(buffer)) > 0)
        {
            if (output.Length + n > MaxInflatedText) throw new InvalidDataException("Compressed PNG text is too large.");
            output.Write(buffer, 0, n);
        }
        return output.ToArray();
    }

    private static byte[] TextChunkData(string keyword, string value)
    {
        if (keyword.Length is < 1 or > 79 || !IsLatin1(keyword) || keyword.Contains('\0') || keyword != keyword.Trim())
            throw new ArgumentException($"PNG text keyword '{keyword}' must be 1-79 Latin-1 characters without leading/trailing spaces.", nameof(keyword));
        using var ms = new MemoryStream();
        ms.Write(Encoding.Latin1.GetBytes(keyword));
        ms.WriteByte(0);
        if (IsLatin1(value))
        {
            ms.Write(Encoding.Latin1.GetBytes(value));
        }
        else
        {
            ms.Write([0, 0, 0, 0]); // uncompressed, method 0, empty language tag, empty translated keyword
            ms.Write(Encoding.UTF8.GetBytes(value));
        }
        return ms.ToArray();
    }

    /// <summary>One PNG chunk: length, type, data, CRC-32 over type and data.</summary>
    internal static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        var crc = new Crc32();
        crc.Append(type);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
        output.Write(word);
    }

    private static int? FindChunk(ReadOnlySpan<byte> png, ReadOnlySpan<byte> wanted)
    {
        var pos = 8;
        while (pos + 12 <= png.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[pos..]);
            if (png.Slice(pos + 4, 4).SequenceEqual(wanted)) return pos;
            if (length > int.MaxValue || pos + 12 + (long)length > png.Length) return null;
            pos += 12 + (int)length;
        }
        return null;
    }

    private static bool IsLatin1(string s)
    {
        foreach (var c in s) if (c > '\u00FF') return false;
        return true;
    }
}
