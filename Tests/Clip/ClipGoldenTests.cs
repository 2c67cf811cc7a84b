using System.Text.Json;
using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Clip;

/// <summary>The towers, the logit scale and the probability table against the clip-shapes goldens.</summary>
public sealed class ClipGoldenTests(ClipFixture fixture) : IClassFixture<ClipFixture>
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private ClipModel Model => fixture.Model;

    private static JsonElement Golden(string file) => JsonDocument.Parse(File.ReadAllText(Repo.Model("clip-shapes", "goldens", file))).RootElement;

    private static float MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0f;
        for (var i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    private float[][] ImageEmbedsFromPngs(int count)
    {
        var images = Enumerable.Range(0, count)
            .Select(i => ImageCodec.Decode(File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", $"image{i}.png")), new ImageLimits())).ToList();
        var pixels = Model.Processor.PreprocessBatch(images);
        return Model.Towers.EmbedImages(pixels, count, Model.Processor.Height, Model.Processor.Width, 32, Ct);
    }

    [Fact]
    public void Image_embeddings_match_the_goldens_from_golden_pixels_and_from_the_pngs()
    {
        var fromPngs = ImageEmbedsFromPngs(6);
        for (var i = 0; i < 6; i++)
        {
            var expected = NpyArray.Load(Repo.Model("clip-shapes", "goldens", $"image{i}_image_embeds.npy"));
            var pixels = NpyArray.Load(Repo.Model("clip-shapes", "goldens", $"image{i}_pixel_values.npy"));
            var fromPixels = Model.Towers.EmbedImages(pixels.Data, 1, 224, 224, 32, Ct)[0];
            Assert.True(MaxDiff(fromPixels, expected.Data) <= 1e-3f, $"image{i} from pixel_values: {MaxDiff(fromPixels, expected.Data)}");
            Assert.True(MaxDiff(fromPngs[i], expected.Data) <= 1e-3f, $"image{i} from png: {MaxDiff(fromPngs[i], expected.Data)}");
        }
    }

    [Fact]
    public void Batched_and_single_image_runs_agree()
    {
        var batched = ImageEmbedsFromPngs(6);
        var pixels = NpyArray.Load(Repo.Model("clip-shapes", "goldens", "image5_pixel_values.npy"));
        var single = Model.Towers.EmbedImages(pixels.Data, 1, 224, 224, 1, Ct)[0];
        Assert.True(MaxDiff(single, batched[5]) <= 1e-4f);
    }

    [Fact]
    public void Text_embeddings_match_the_goldens_from_golden_ids_and_from_the_tokenizer()
    {
        var text = Golden("text.json");
        var cases = text.GetProperty("strings").EnumerateArray().Concat(text.GetProperty("label_prompts").EnumerateArray()).ToList();
        Assert.True(cases.Count >= 44);
        var goldenIds = cases.Select(c => new PaddedIds(
            c.GetProperty("input_ids_77").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
            c.TryGetProperty("attention_mask_77", out var m)
                ? m.EnumerateArray().Select(e => e.GetInt64()).ToArray()
                : MaskUpToFirstEos(c.GetProperty("input_ids_77").EnumerateArray().Select(e => e.GetInt64()).ToArray()))).ToList();
        var fromIds = Model.Towers.EmbedTexts(goldenIds, 32, Ct);
        var tokenized = ClipTokenize.Encode(Model.Tokenizer, cases.Select(c => c.GetProperty("text").GetString()!).ToList(), Model.MaxTextLength);
        var fromText = Model.Towers.EmbedTexts(tokenized, 32, Ct);
        for (var i = 0; i < cases.Count; i++)
        {
            var expected = cases[i].GetProperty("text_embeds").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            var label = cases[i].GetProperty("text").GetString();
            Assert.True(MaxDiff(fromIds[i], expected) <= 1e-3f, $"'{label}' from golden ids: {MaxDiff(fromIds[i], expected)}");
            Assert.Equal(goldenIds[i].InputIds, tokenized[i].InputIds);
            Assert.True(MaxDiff(fromText[i], expected) <= 1e-3f, $"'{label}' through the tokenizer: {MaxDiff(fromText[i], expected)}");
        }
    }

    /// <summary>label_prompts give no mask: ones up to and including the first &lt;|endoftext|&gt; (the padding token too).</summary>
    private long[] MaskUpToFirstEos(long[] ids)
    {
        var eos = Model.Tokenizer.TokenToId("<|endoftext|>")!.Value;
        var end = Array.IndexOf(ids, (long)eos);
        return ids.Select((_, i) => i <= end ? 1L : 0L).ToArray();
    }

    [Fact]
    public void Logit_scale_is_read_from_the_model_files()
    {
        var expected = Golden("probs.json").GetProperty("logit_scale").GetSingle();
        Assert.Equal(expected, Model.LogitScale, 1e-3f);
    }

    [Fact]
    public void Probability_table_and_argmax_match_the_goldens()
    {
        var probs = Golden("probs.json");
        var labels = probs.GetProperty("labels").EnumerateArray().Select(e => e.GetString()!).ToList();
        var template = probs.GetProperty("template").GetString()!;
        var prompts = labels.Select(l => ClipTokenize.Prompt(template, l)).ToList();
        var texts = Model.Towers.EmbedTexts(ClipTokenize.Encode(Model.Tokenizer, prompts, Model.MaxTextLength), 32, Ct)
            .Select(v => ClipScore.Normalize(v)).ToList();
        var images = ImageEmbedsFromPngs(6).Select(v => ClipScore.Normalize(v)).ToList();
        var similarity = ClipScore.Similarity(images, texts);
        var expected = probs.GetProperty("probs").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetSingle()).ToArray()).ToList();
        var argmax = probs.GetProperty("argmax").EnumerateArray().Select(e => e.GetString()).ToList();
        for (var i = 0; i < 6; i++)
        {
            var row = ClipScore.Softmax(similarity[i], Model.LogitScale);
            Assert.True(MaxDiff(row, expected[i]) <= 1e-3f, $"image{i}: {MaxDiff(row, expected[i])}");
            Assert.Equal(argmax[i], labels[ClipScore.Rank(row, 1)[0]]);
        }
    }

    [Fact]
    public void Prompt_ensembling_averages_normalised_prompt_vectors()
    {
        float[] a = [1, 0], b = [0, 1];
        var mean = ClipScore.Ensemble([a, b]);
        Assert.Equal(MathF.Sqrt(0.5f), mean[0], 1e-6f);
        Assert.Equal(MathF.Sqrt(0.5f), mean[1], 1e-6f);
    }

    [Fact]
    public void Softmax_sums_to_one_and_ranks_best_first()
    {
        var p = ClipScore.Softmax([0.1f, 0.3f, 0.2f], 100f);
        Assert.Equal(1.0, p.Sum(x => (double)x), 5);
        Assert.Equal([1, 2, 0], ClipScore.Rank(p, 3));
        Assert.Equal([1], ClipScore.Rank(p, 1));
    }

    [Fact]
    public void Text_cache_is_bounded_and_least_recently_used()
    {
        var cache = new LruCache(2);
        cache.Add("a", [1]);
        cache.Add("b", [2]);
        Assert.True(cache.TryGet("a", out _));
        cache.Add("c", [3]);
        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("a", out var v) && v[0] == 1);
    }
}
