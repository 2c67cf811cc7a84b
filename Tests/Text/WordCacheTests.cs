using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Text;

/// <summary>The BPE word cache is bounded: at the cap it starts over and keeps caching (it used to stop for good).</summary>
public sealed class WordCacheTests
{
    private static string Word(int i)
    {
        var chars = new char[4];
        for (var k = 0; k < 4; k++, i /= 26) chars[k] = (char)('a' + i % 26);
        return new string(chars);
    }

    [Fact]
    public void The_cache_is_cleared_at_the_cap_and_caches_again_with_the_same_ids()
    {
        var tokenizer = (BpeTextTokenizer)TokenizerLoader.Load(Repo.Model("clip-shapes"));
        var before = tokenizer.Encode("red circle blue square");
        var words = Enumerable.Range(0, BpeTextTokenizer.MaxCachedWords + 10).Select(Word).ToArray();
        tokenizer.Encode(string.Join(" ", words));
        Assert.InRange(tokenizer.CachedWords, 1, BpeTextTokenizer.MaxCachedWords - 1);
        Assert.Equal(before, tokenizer.Encode("red circle blue square"));
        var cached = tokenizer.CachedWords;
        tokenizer.Encode("zebra");
        Assert.Equal(cached + 1, tokenizer.CachedWords);
    }
}
