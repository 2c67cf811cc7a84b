namespace MultimodalHub.Inference.Text;

/// <summary>GPT-2's reversible byte ↔ printable-unicode mapping (bytes_to_unicode), used by byte-level BPE vocabularies.</summary>
internal static class ByteLevel
{
    public static readonly char[] ByteToChar = Build();
    public static readonly IReadOnlyDictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    /// <summary>GPT-2 pre-tokenizer regex, used by a ByteLevel pre-tokenizer with use_regex true.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static char[] Build()
    {
        var map = new char[256];
        var direct = new bool[256];
        for (int b = '!'; b <= '~'; b++) direct[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) direct[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) direct[b] = true;
        int n = 0;
        for (int b = 0; b < 256; b++) map[b] = direct[b] ? (char)b : (char)(256 + n++);
        return map;
    }

    public static string Map(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>Bytes of a vocabulary token: the inverse mapping, or the token's own UTF-8 when a char is outside the alphabet (as the tokenizers ByteLevel decoder does).</summary>
    public static void AppendBytes(string token, List<byte> into)
    {
        foreach (char c in token)
            if (!CharToByte.ContainsKey(c)) { into.AddRange(System.Text.Encoding.UTF8.GetBytes(token)); return; }
        foreach (char c in token) into.Add(CharToByte[c]);
    }
}
