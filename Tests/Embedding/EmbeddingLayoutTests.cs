using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Embedding;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Embedding;

/// <summary>
/// The registry tells sentence encoders from chat models, and the engine loads the onnx-community / Xenova layout
/// (tokenizer.json with a WordPiece model) as well as the vocab.txt-only one, on the real MiniLM graph.
/// </summary>
[Collection(MiniLmGroup.Name)]
public sealed class EmbeddingLayoutTests(MiniLmFixture f) : IDisposable
{
    private static readonly OrtSessionFactory Sessions =
        new(Options.Create(new InferenceOptions { IntraOpThreads = 2, UseCuda = false }), NullLogger<OrtSessionFactory>.Instance);

    private readonly string _root = Directory.CreateTempSubdirectory("hub-embedding-layouts-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A folder with the MiniLM graph linked in and the given JSON/text files.</summary>
    private string Folder(string name, params (string File, string Text)[] files)
    {
        var dir = Path.Combine(_root, name);
        Directory.CreateDirectory(Path.Combine(dir, "onnx"));
        File.CreateSymbolicLink(Path.Combine(dir, "onnx", "model.onnx"), Path.Combine(f.Directory, "onnx", "model.onnx"));
        foreach (var (file, text) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, file))!);
            File.WriteAllText(Path.Combine(dir, file), text);
        }
        return dir;
    }

    private string Vocab => File.ReadAllText(Path.Combine(f.Directory, "vocab.txt"));

    /// <summary>tokenizer.json as tokenizers writes bert-base-uncased's (the vocabulary of MiniLM's vocab.txt).</summary>
    private string TokenizerJson(string modelType = "WordPiece")
    {
        var vocab = new JsonObject();
        var i = 0;
        foreach (var token in Vocab.Split('\n').Where(t => t.Length > 0)) vocab[token] = i++;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 0, ["content"] = "[PAD]", ["special"] = true }),
            ["normalizer"] = new JsonObject { ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true, ["strip_accents"] = null, ["lowercase"] = true },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = new JsonObject { ["type"] = "BertProcessing", ["sep"] = new JsonArray("[SEP]", 102), ["cls"] = new JsonArray("[CLS]", 101) },
            ["decoder"] = new JsonObject { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = modelType,
                ["unk_token"] = "[UNK]",
                ["continuing_subword_prefix"] = "##",
                ["max_input_chars_per_word"] = 100,
                ["vocab"] = vocab,
            },
        }.ToJsonString();
    }

    [Fact]
    public void An_onnx_community_bert_folder_is_an_embedding_model_and_its_tokenizer_json_gives_the_vocab_txt_ids()
    {
        var dir = Folder("bert-json", ("config.json", """{"model_type":"bert","max_position_embeddings":512}"""), ("tokenizer.json", TokenizerJson()),
            ("tokenizer_config.json", """{"do_lower_case":true,"model_max_length":512}"""));
        var model = ModelRegistry.Describe(dir);
        Assert.Equal(ModelKind.Embedding, model.Kind);
        Assert.Null(model.Error);
        var fromJson = WordPieceText.Load(dir);
        foreach (var text in EmbeddingTexts.All)
            Assert.Equal(f.Model.Tokenizer.Encode(text, 512).Ids, fromJson.Encode(text, 512).Ids);
        using var loaded = EmbeddingModel.Load(model, Sessions, NullLogger.Instance);
        Assert.Equal([PoolingMode.Mean], loaded.Config.Pooling); // no 1_Pooling: sentence-transformers' default
        Assert.True(loaded.Config.Normalize);
    }

    [Fact]
    public void A_vocab_txt_folder_with_cls_pooling_and_no_normalize_module_pools_and_leaves_the_vector_as_the_model_gives_it()
    {
        var dir = Folder("bert-cls", ("config.json", """{"model_type":"bert"}"""), ("vocab.txt", Vocab),
            ("modules.json", """[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"""),
            ("1_Pooling/config.json", """{"word_embedding_dimension":384,"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}"""),
            ("sentence_bert_config.json", """{"max_seq_length":128,"do_lower_case":false}"""));
        using var model = EmbeddingModel.Load(ModelRegistry.Describe(dir), Sessions, NullLogger.Instance);
        Assert.Equal([PoolingMode.Cls], model.Config.Pooling);
        Assert.False(model.Config.Normalize);
        Assert.Equal(128, model.Config.MaxLength);
        var cls = EmbeddingEngine.Run(model, [model.Tokenizer.Encode("a red circle", 128)], 8, TestContext.Current.CancellationToken)[0];
        var mean = f.Embed("a red circle")[0];
        Assert.NotEqual(1f, System.Numerics.Tensors.TensorPrimitives.Norm(cls), 2);
        Assert.True(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(cls, mean) < 0.99f);
    }

    [Fact]
    public void A_chat_model_with_onnx_model_and_config_json_stays_a_chat_model()
    {
        Assert.Equal(ModelKind.Chat, ModelRegistry.Describe(Repo.Model("shapes-chat")).Kind);
        var dir = Folder("qwen-like", ("config.json", """{"model_type":"qwen2"}"""), ("tokenizer.json", "{}"), ("tokenizer_config.json", "{}"));
        Assert.Equal(ModelKind.Chat, ModelRegistry.Describe(dir).Kind);
    }

    [Fact]
    public void An_encoder_without_a_tokenizer_says_what_is_missing_and_a_bpe_one_says_it_is_not_supported()
    {
        var missing = ModelRegistry.Describe(Folder("bert-bare", ("config.json", """{"model_type":"bert"}""")));
        Assert.Equal(ModelKind.Embedding, missing.Kind);
        Assert.Equal("missing tokenizer.json or vocab.txt", missing.Error);
        var bpe = Folder("roberta-bpe", ("config.json", """{"model_type":"roberta"}"""), ("tokenizer.json", TokenizerJson("BPE")));
        Assert.Equal(ModelKind.Embedding, ModelRegistry.Describe(bpe).Kind);
        var e = Assert.Throws<NotSupportedException>(() => WordPieceText.Load(bpe));
        Assert.Contains("'BPE' is not supported", e.Message);
    }
}
