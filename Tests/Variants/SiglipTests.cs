using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Variants;

/// <summary>
/// SigLIP-style scoring on the siglip-shapes fixture (clip-shapes whose onnx/model.onnx adds a logit_bias of -10 and
/// whose config says siglip): the bias is read from the model, and each label gets sigmoid(scale * cos + bias).
/// </summary>
public sealed class SiglipTests
{
    private const float Bias = -10f;

    private static ClipModel Load(string dir) => ClipModel.Load(ModelRegistry.Describe(dir),
        new OrtSessionFactory(Options.Create(new InferenceOptions { IntraOpThreads = 1, UseCuda = false }), NullLogger<OrtSessionFactory>.Instance),
        new ClipOptions(), NullLogger.Instance);

    [Fact]
    public void Scale_and_bias_are_read_from_the_model_and_labels_score_on_their_own()
    {
        using var model = Load(Fixtures.Dir("siglip-shapes"));
        var probs = Goldens.Load("clip-shapes", "probs.json");
        Assert.Equal(ClipScoring.Sigmoid, model.Scoring);
        Assert.Equal(probs.GetProperty("logit_scale").GetSingle(), model.LogitScale, 1e-2f);
        Assert.Equal(Bias, model.LogitBias, 1e-2f);

        var labels = probs.GetProperty("labels").EnumerateArray().Select(e => e.GetString()!).ToList();
        var texts = model.Towers.EmbedTexts(ClipTokenize.Encode(model.Tokenizer, labels.Select(l => ClipTokenize.Prompt("a photo of a {}.", l)).ToList(), model.MaxTextLength), 32,
            CancellationToken.None).Select(v => ClipScore.Normalize(v)).ToList();
        var argmax = probs.GetProperty("argmax").EnumerateArray().Select(e => e.GetString()).ToList();
        for (var i = 0; i < 6; i++)
        {
            var image = ClipScore.Normalize(NpyArray.Load(Repo.Model("clip-shapes", "goldens", $"image{i}_image_embeds.npy")).Data);
            var cos = texts.Select(t => ClipScore.Dot(image, t)).ToArray();
            var scores = ClipScore.Scores(cos, model.Scoring, model.LogitScale, model.LogitBias);
            for (var j = 0; j < cos.Length; j++)
                Assert.Equal(1 / (1 + Math.Exp(-(23.521 * cos[j] + Bias))), scores[j], 1e-3);
            Assert.Equal(argmax[i], labels[ClipScore.Rank(scores, 1)[0]]);
        }
    }

    [Fact]
    public void Clip_models_keep_softmax_and_no_bias()
    {
        using var model = Load(Repo.Model("clip-shapes"));
        Assert.Equal(ClipScoring.Softmax, model.Scoring);
        Assert.Equal(0f, model.LogitBias);
    }

    [Fact]
    public async Task Classify_says_sigmoid_and_gives_independent_scores()
    {
        using var root = new TempModels();
        root.CopyFolder(Fixtures.Dir("siglip-shapes"), "siglip-shapes");
        await using var factory = new InferenceFactory(root.Path);
        using var client = factory.CreateClient();
        var png = File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", "image0.png"));
        using var response = await client.PostAsJsonAsync("/v1/classify",
            new { images = new[] { "data:image/png;base64," + Convert.ToBase64String(png) }, labels = new[] { "red circle", "red square", "blue star" } },
            TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("sigmoid", json.GetProperty("scoring").GetString());
        Assert.Equal(Bias, json.GetProperty("logit_bias").GetSingle(), 1e-2f);
        var row = json.GetProperty("probabilities")[0].EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var cos = json.GetProperty("similarity")[0].EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var scale = json.GetProperty("logit_scale").GetSingle();
        for (var j = 0; j < 3; j++) Assert.Equal(1 / (1 + Math.Exp(-(scale * cos[j] + Bias))), row[j], 1e-2);
        Assert.Equal("red circle", json.GetProperty("results")[0].GetProperty("labels")[0].GetProperty("label").GetString());
        Assert.True(Math.Abs(row.Sum() - 1) > 0.05, $"sigmoid scores are independent, yet they sum to {row.Sum()}");
    }
}
