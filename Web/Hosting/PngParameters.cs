using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace MultimodalHub.Web.Hosting;

/// <summary>
/// Adds a tEXt chunk (keyword + Latin-1 text; iTXt for non-Latin-1) after a PNG's IHDR. Hand-written because it is
/// 30 lines of the PNG spec and the web app does not decode images (no imaging library in Web).
/// </summary>
public static class PngParameters
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    public static byte[] Insert(byte[] png, string keyword, string text)
    {
        if (png.Length < 33 || !png.AsSpan(0, 8).SequenceEqual(Signature)) return png;
        var ihdrLength = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(8, 4));
        var insertAt = 8 + 12 + ihdrLength;
        if (insertAt > png.Length) return png;
        var latin1 = text.All(c => c <= 0xFF);
        byte[] data = latin1
            ? [.. Encoding.Latin1.GetBytes(keyword), 0, .. Encoding.Latin1.GetBytes(text)]
            : [.. Encoding.Latin1.GetBytes(keyword), 0, 0, 0, 0, 0, .. Encoding.UTF8.GetBytes(text)];
        var type = Encoding.ASCII.GetBytes(latin1 ? "tEXt" : "iTXt");
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        type.CopyTo(chunk, 4);
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32.HashToUInt32(chunk.AsSpan(4, 4 + data.Length)));
        return [.. png.AsSpan(0, insertAt), .. chunk, .. png.AsSpan(insertAt)];
    }
}
