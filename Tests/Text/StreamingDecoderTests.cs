using System.Globalization;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Text;

public sealed class StreamingDecoderTests
{
    private static readonly ITextTokenizer Chat = TokenizerLoader.Load(Repo.Model("shapes-chat"));

    [Theory]
    [InlineData("emoji 🙂🎨🔺")]
    [InlineData("👍🏽 skin tone, 日本語のテキスト, naïve café")]
    [InlineData("<|im_start|>user\nhi 🔴<|im_end|>\n")]
    public void Emits_only_complete_characters_and_concatenates_to_the_full_decode(string text)
    {
        var ids = Chat.Encode(text, addSpecialTokens: false);
        foreach (bool skip in new[] { true, false })
        {
            var decoder = new StreamingDecoder(Chat, skip);
            var pieces = new List<string>();
            int emptyPushes = 0;
            foreach (int id in ids)
            {
                string piece = decoder.Push(id);
                if (piece.Length == 0) emptyPushes++;
                pieces.Add(piece);
            }
            pieces.Add(decoder.Flush());

            foreach (var piece in pieces)
            {
                Assert.DoesNotContain('\uFFFD', piece);
                Assert.True(IsWellFormed(piece), $"half a character emitted: {piece}");
            }
            Assert.Equal(Chat.Decode(ids, skip), string.Concat(pieces));
            Assert.True(emptyPushes > 0); // the emoji's 4 bytes are 4 tokens: the first 3 pushes hold back
        }
    }

    [Fact]
    public void Flush_replaces_an_unfinished_character()
    {
        var ids = Chat.Encode("🙂", addSpecialTokens: false);
        Assert.Equal(4, ids.Count);
        var decoder = new StreamingDecoder(Chat);
        Assert.Equal("", decoder.Push(ids[0]) + decoder.Push(ids[1]));
        Assert.Equal("\uFFFD", decoder.Flush());
    }

    private static bool IsWellFormed(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i])) { if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return false; i++; }
            else if (char.IsLowSurrogate(s[i])) return false;
        }
        return true;
    }
}
