using System.Net;
using System.Net.Http.Json;
using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Embedding;

/// <summary>/v1/embeddings with the real MiniLM through the real host (bundled models + the imported MiniLM), the official OpenAI client and the CLI.</summary>
[Collection(MiniLmGroup.Name)]
public sealed class EmbeddingApiTests(MiniLmFixture f)
{
    private const string Model = MiniLmFixture.Id;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static float[] Floats(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(e.GetString()!)).ToArray()
        : e.EnumerateArray().Select(x => x.GetSingle()).ToArray();

    [Fact]
    public async Task Models_list_it_as_an_embedding_model()
    {
        using var client = f.Host.CreateClient();
        var model = await client.GetFromJsonAsync<JsonElement>($"/v1/models/{Model}", Ct);
        Assert.Equal("embedding", model.GetProperty("kind").GetString());
        Assert.Equal("ready", model.GetProperty("status").GetString());
        Assert.Equal("fp32", model.GetProperty("variant").GetString());
    }

    [Fact]
    public async Task A_batch_comes_back_openai_shaped_in_order_with_the_package_vectors_and_token_usage()
    {
        using var client = f.Host.CreateClient();
        string[] texts = ["A man is playing a guitar.", "Short.", "The quick brown fox jumps over the lazy dog near the river bank.", "What is the capital of France?"];
        var json = await ApiAsserts.PostJson(client, "/v1/embeddings", new { model = Model, input = texts });

        Assert.Equal("list", json.GetProperty("object").GetString());
        Assert.Equal(Model, json.GetProperty("model").GetString());
        Assert.False(json.TryGetProperty("truncated", out _));
        var data = json.GetProperty("data");
        Assert.Equal(texts.Length, data.GetArrayLength());
        var expected = f.Reference.Encode(texts, Ct);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal("embedding", data[i].GetProperty("object").GetString());
            Assert.Equal(i, data[i].GetProperty("index").GetInt32());
            var v = Floats(data[i].GetProperty("embedding"));
            Assert.Equal(384, v.Length);
            Assert.True(TensorPrimitives.CosineSimilarity(expected[i], v) >= 0.9999f, texts[i]);
            Assert.Equal(1f, TensorPrimitives.Norm(v), 1e-4f);
        }
        var tokens = texts.Sum(t => f.ReferenceTokenizer.Encode(t)[0].InputIds.Length);
        Assert.Equal(tokens, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(tokens, json.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Base64_is_the_same_floats_and_the_full_dimensions_are_accepted()
    {
        using var client = f.Host.CreateClient();
        var plain = await ApiAsserts.PostJson(client, "/v1/embeddings", new { model = Model, input = "a red circle" });
        var encoded = await ApiAsserts.PostJson(client, "/v1/embeddings", new { model = Model, input = "a red circle", encoding_format = "base64", dimensions = 384 });
        Assert.Equal(JsonValueKind.String, encoded.GetProperty("data")[0].GetProperty("embedding").ValueKind);
        Assert.Equal(Floats(plain.GetProperty("data")[0].GetProperty("embedding")), Floats(encoded.GetProperty("data")[0].GetProperty("embedding")));
    }

    [Fact]
    public async Task Long_inputs_are_cut_at_512_tokens_reported_in_usage_and_truncated()
    {
        using var client = f.Host.CreateClient();
        var json = await ApiAsserts.PostJson(client, "/v1/embeddings", new { model = Model, input = new[] { "short text", EmbeddingTexts.Long[0] } });
        Assert.Equal([1], json.GetProperty("truncated").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(4 + 512, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        var v = Floats(json.GetProperty("data")[1].GetProperty("embedding"));
        Assert.True(TensorPrimitives.CosineSimilarity(f.Embed(EmbeddingTexts.Long[0])[0], v) >= 0.9999f);
    }

    [Theory]
    [InlineData("""{"model":"sentencetransformers-minilm","input":["ok",""]}""", "input[1]", "empty")]
    [InlineData("""{"model":"sentencetransformers-minilm","input":[]}""", "input", "empty array")]
    [InlineData("""{"model":"sentencetransformers-minilm","input":[1,2,3]}""", "input[0]", "token-id")]
    [InlineData("""{"model":"sentencetransformers-minilm","input":"x","dimensions":128}""", "dimensions", "not trained to be shortened")]
    [InlineData("""{"model":"sentencetransformers-minilm","input":"x","dimensions":0}""", "dimensions", "at least 1")]
    [InlineData("""{"model":"sentencetransformers-minilm","input":"x","encoding_format":"int8"}""", "encoding_format", "float")]
    [InlineData("""{"model":"sentencetransformers-minilm","input":"aGk=","input_type":"image"}""", "input_type", "texts only")]
    [InlineData("""{"model":"shapes-chat","input":"x"}""", "model", "needs an embedding or CLIP model")]
    public async Task Bad_requests_are_400_naming_the_field(string body, string field, string detail)
    {
        using var client = f.Host.CreateClient();
        using var response = await client.PostAsync("/v1/embeddings", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Ct);
        await ApiAsserts.AssertProblem(response, HttpStatusCode.BadRequest, field, detail);
    }

    [Fact]
    public async Task Too_many_inputs_and_too_long_texts_are_refused()
    {
        await using var host = new InferenceFactory(null, [MiniLmFixture.Root],
            new Dictionary<string, string> { ["Embedding:MaxInputs"] = "3", ["Embedding:MaxInputChars"] = "50" });
        using var client = host.CreateClient();
        using var many = await client.PostAsJsonAsync("/v1/embeddings", new { model = Model, input = new[] { "a", "b", "c", "d" } }, Ct);
        await ApiAsserts.AssertProblem(many, HttpStatusCode.BadRequest, "input", "Embedding:MaxInputs");
        using var longText = await client.PostAsJsonAsync("/v1/embeddings", new { model = Model, input = new[] { "a", new string('x', 51) } }, Ct);
        await ApiAsserts.AssertProblem(longText, HttpStatusCode.BadRequest, "input[1]", "Embedding:MaxInputChars");
    }

    [Fact]
    public async Task Without_a_model_texts_still_go_to_clip_when_one_is_installed_and_to_the_sentence_model_when_not()
    {
        using (var client = f.Host.CreateClient())
        {
            var json = await ApiAsserts.PostJson(client, "/v1/embeddings", new { input = "a red circle" });
            Assert.Equal("clip-shapes", json.GetProperty("model").GetString());
        }
        await using var only = new InferenceFactory(MiniLmFixture.Root);
        using var onlyClient = only.CreateClient();
        var alone = await ApiAsserts.PostJson(onlyClient, "/v1/embeddings", new { input = "a red circle" });
        Assert.Equal(Model, alone.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Matryoshka_sizes_the_model_lists_are_cut_and_renormalised()
    {
        // The same weights in a folder whose config.json lists Matryoshka sizes (the graph is linked, not copied).
        var root = Directory.CreateTempSubdirectory("hub-matryoshka-").FullName;
        try
        {
            var dir = Path.Combine(root, "minilm-matryoshka");
            foreach (var file in Directory.EnumerateFiles(f.Directory, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(dir, Path.GetRelativePath(f.Directory, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                if (file.EndsWith(".onnx", StringComparison.Ordinal)) File.CreateSymbolicLink(target, file);
                else File.Copy(file, target);
            }
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
            config["matryoshka_dimensions"] = new JsonArray(384, 256, 128);
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            await using var host = new InferenceFactory(root);
            using var client = host.CreateClient();

            var json = await ApiAsserts.PostJson(client, "/v1/embeddings", new { model = "minilm-matryoshka", input = "a blue square", dimensions = 128 });
            var v = Floats(json.GetProperty("data")[0].GetProperty("embedding"));
            var full = f.Embed("a blue square")[0];
            Assert.Equal(128, v.Length);
            Assert.Equal(1f, TensorPrimitives.Norm(v), 1e-5f);
            var expected = full[..128];
            TensorPrimitives.Divide(expected, TensorPrimitives.Norm(expected), expected);
            Assert.True(v.Zip(expected).All(p => Math.Abs(p.First - p.Second) < 1e-5f));
            using var bad = await client.PostAsJsonAsync("/v1/embeddings", new { model = "minilm-matryoshka", input = "x", dimensions = 200 }, Ct);
            await ApiAsserts.AssertProblem(bad, HttpStatusCode.BadRequest, "dimensions", "128, 256");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task The_openai_client_gets_the_package_vectors()
    {
        using var http = f.Host.CreateClient();
        var client = ApiAsserts.OpenAiClient(http).GetEmbeddingClient(Model);
        string[] texts = ["A cat sits on the mat.", "Stocks fell sharply today."];
        var result = await client.GenerateEmbeddingsAsync(texts, cancellationToken: Ct);
        var expected = f.Reference.Encode(texts, Ct);
        Assert.Equal(2, result.Value.Count);
        for (var i = 0; i < texts.Length; i++)
            Assert.True(TensorPrimitives.CosineSimilarity(expected[i], result.Value[i].ToFloats().ToArray()) >= 0.9999f);
        Assert.True(result.Value.Usage.InputTokenCount > 0);
    }

    [Fact]
    public async Task The_cli_imports_the_package_into_a_models_root_once()
    {
        var root = Directory.CreateTempSubdirectory("hub-import-").FullName;
        try
        {
            var first = new StringWriter();
            var err = new StringWriter();
            Assert.Equal(0, await CliApp.RunAsync("models", ["import-nuget", MiniLmFixture.Package, "--out", root, "--name", "minilm"], first, err, Ct));
            var json = JsonDocument.Parse(first.ToString()).RootElement;
            Assert.False(json.GetProperty("already_imported").GetBoolean());
            Assert.Contains("onnx/model.onnx", json.GetProperty("files").EnumerateArray().Select(e => e.GetString()));
            var described = MultimodalHub.Inference.Runtime.ModelRegistry.Describe(Path.Combine(root, "minilm"));
            Assert.Equal(MultimodalHub.Contracts.ModelKind.Embedding, described.Kind);
            Assert.Null(described.Error);
            Assert.Equal(File.ReadAllBytes(Path.Combine(f.Directory, "onnx", "model.onnx")).Length, new FileInfo(Path.Combine(root, "minilm", "onnx", "model.onnx")).Length);

            var second = new StringWriter();
            Assert.Equal(0, await CliApp.RunAsync("models", ["import-nuget", MiniLmFixture.Package, "--out", root, "--name", "minilm"], second, err, Ct));
            Assert.True(JsonDocument.Parse(second.ToString()).RootElement.GetProperty("already_imported").GetBoolean());

            Assert.Equal(2, await CliApp.RunAsync("models", ["import-nuget", "Some.Unknown.Package", "--out", root], new StringWriter(), err, Ct));
            Assert.Contains("--pooling", err.ToString());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
