using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Vlm;

/// <summary>
/// The idefics3-layout fixture (Tests/Fixtures/make_idefics3_layout.py: shapes-vlm in SmolVLM's onnx-community layout)
/// loads through the engine: tiles through the 5-D vision encoder with pixel_attention_mask, Idefics3's prompt
/// expansion, and answers equal to the bundled graphs run on the same tiles and ids.
/// </summary>
public sealed class Idefics3LayoutTests : IDisposable
{
    private readonly VlmModel _idefics3 = new(ModelRegistry.Describe(Fixtures.Dir("idefics3-layout")), Session);
    private readonly VlmModel _bundled = new(ModelRegistry.Describe(Repo.Model("shapes-vlm")), Session);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static InferenceSession Session(string path)
    {
        using var so = new SessionOptions { IntraOpNumThreads = 1 };
        return new InferenceSession(path, so);
    }

    private static RgbImage Golden(string file) =>
        ImageCodec.Decode(File.ReadAllBytes(Repo.Model("shapes-vlm", "goldens", file)), new ImageLimits(), "image");

    public void Dispose()
    {
        _idefics3.Dispose();
        _bundled.Dispose();
    }

    [Fact]
    public void The_layout_is_read_from_the_model_files()
    {
        Assert.True(_idefics3.IsIdefics3);
        Assert.False(_bundled.IsIdefics3);
        Assert.Equal(32, _idefics3.ImageSeqLen); // processor_config.json
        Assert.Equal(224, _idefics3.ImageSize); // max_image_size.longest_edge
        Assert.Equal("pixel_attention_mask", _idefics3.VisionMaskInput);
        Assert.Equal(448, _idefics3.Idefics3Processor!.Config.LongestEdge);
        Assert.Equal(PilFilter.Lanczos, _idefics3.Idefics3Processor.Config.Resample);
        Assert.Throws<InvalidOperationException>(() => VlmPrompt.Build(_idefics3, VlmEngine.CaptionMessages("describe the image."), 1));
    }

    /// <summary>HuggingFaceTB/SmolVLM-256M-Instruct's chat template (its chat_template.json and tokenizer_config.json).</summary>
    private const string SmolVlmTemplate =
        "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}" +
        "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}" +
        "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

    [Fact]
    public void SmolVlms_chat_template_renders_every_turn_of_a_conversation()
    {
        var template = ChatTemplate.Parse(SmolVlmTemplate);
        var messages = VlmEngine.VqaMessages("and its color?", [new VqaTurn("what shape is it?", "a circle.")], null);
        Assert.Equal("<|im_start|>User:<image>what shape is it?<end_of_utterance>\nAssistant: a circle.<end_of_utterance>\nUser: and its color?<end_of_utterance>\nAssistant:",
            template.Render(VlmPrompt.AsParts(messages)));
    }

    [Theory]
    [InlineData("g7_non_square.png", 2, 2)]
    [InlineData("g5_count_64px.png", 2, 2)]
    public void Tile_features_equal_the_bundled_encoder_run_tile_by_tile(string file, int rows, int cols)
    {
        var pixels = VlmPreprocess.Pixels(_idefics3, Golden(file));
        Assert.Equal((rows, cols, rows * cols + 1, 224), (pixels.Rows, pixels.Cols, pixels.Tiles, pixels.Side));
        var features = VlmEncode.ImageFeatures(_idefics3, pixels, Ct);
        var frame = 3 * 224 * 224;
        var rowsPerTile = 32 * 128;
        Assert.Equal(pixels.Tiles * rowsPerTile, features.Length);
        for (var t = 0; t < pixels.Tiles; t++)
        {
            var single = VlmEncode.ImageFeatures(_bundled, pixels.Values.AsSpan(t * frame, frame).ToArray());
            var ours = features.AsSpan(t * rowsPerTile, rowsPerTile);
            for (var i = 0; i < rowsPerTile; i++) Assert.Equal(single[i], ours[i], 1e-5f);
        }
    }

    [Fact]
    public void The_prompt_has_a_tile_token_and_image_seq_len_image_ids_per_tile_then_the_global_image()
    {
        var image = Golden("g7_non_square.png");
        var prompt = VlmPrompt.Build(_idefics3, VlmEngine.VqaMessages("what shapes are there?", [], null), [image]);
        var t = _idefics3.Tokenizer;
        int Id(string token) => t.TokenToId(token)!.Value;
        Assert.Equal(5 * 32, prompt.ImagePositions.Count);
        Assert.All(prompt.ImagePositions, p => Assert.Equal(_idefics3.ImageTokenId, prompt.ExpandedIds[p]));
        var ids = prompt.ExpandedIds;
        // Each tile: <fake_token_around_image> <row_r_col_c> then 32 image ids; the global image after them.
        var tileStarts = new[] { "<row_1_col_1>", "<row_1_col_2>", "<row_2_col_1>", "<row_2_col_2>", "<global-img>" }.Select(Id).ToArray();
        for (var k = 0; k < 5; k++)
        {
            var first = prompt.ImagePositions[k * 32];
            Assert.Equal(tileStarts[k], ids[first - 1]);
            Assert.Equal(Id("<fake_token_around_image>"), ids[first - 2]);
            Assert.Equal(first + 31, prompt.ImagePositions[k * 32 + 31]);
        }
        Assert.Equal(Id("<fake_token_around_image>"), ids[prompt.ImagePositions[^1] + 1]);
        Assert.Single(prompt.Ids, _idefics3.ImageTokenId);
    }

    /// <summary>
    /// The decoder never saw Idefics3's structure tokens, so its answers are not the bundled model's goldens. The
    /// expected answer is the bundled graphs' own greedy answer to the same expanded ids with each tile's features
    /// from the bundled (4-D) encoder: equal ids show that the 5-D encoder, the splice over several tiles and the
    /// decoding see exactly what they should.
    /// </summary>
    [Theory]
    [InlineData("g1_red_circle_caption.png")]
    [InlineData("g7_non_square.png")]
    public void The_answer_equals_the_bundled_graphs_on_the_same_tiles_and_ids(string file)
    {
        var image = Golden(file);
        var prompt = VlmPrompt.Build(_idefics3, VlmEngine.CaptionMessages("describe the image."), [image]);
        var decoding = new VlmDecoding(SamplingOptions.GreedyDefault(24));
        var (ours, _, _) = VlmRun.Run(_idefics3, prompt, [VlmEncode.ImageFeatures(_idefics3, VlmPreprocess.Pixels(_idefics3, image), Ct)], "a", decoding, null, _ => { }, CancellationToken.None);

        var pixels = VlmPreprocess.Pixels(_idefics3, image);
        var frame = 3 * pixels.Side * pixels.Side;
        var tiles = Enumerable.Range(0, pixels.Tiles).Select(t => VlmEncode.ImageFeatures(_bundled, pixels.Values.AsSpan(t * frame, frame).ToArray())).ToArray();
        var (expected, _, _) = VlmRun.Run(_bundled, prompt, tiles, "b", decoding, null, _ => { }, CancellationToken.None);
        Assert.NotEmpty(expected.Ids);
        Assert.Equal(expected.Ids, ours.Ids);
        Assert.Equal(expected.Text, ours.Text);
    }

    [Fact]
    public async Task Vqa_endpoint_answers_with_the_idefics3_layout()
    {
        using var root = new TempModels();
        var source = Fixtures.Dir("idefics3-layout");
        foreach (var path in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(root.Path, "idefics3-layout", Path.GetRelativePath(source, path));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(path, dest);
        }
        await using var factory = new InferenceFactory(root.Path);
        using var client = factory.CreateClient();
        var png = File.ReadAllBytes(Repo.Model("shapes-vlm", "goldens", "g7_non_square.png"));
        using var response = await client.PostAsJsonAsync("/v1/vqa",
            new { image = "data:image/png;base64," + Convert.ToBase64String(png), question = "what shapes are there?", max_tokens = 16 },
            TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("idefics3-layout", json.GetProperty("model").GetString());

        var prompt = VlmPrompt.Build(_idefics3, VlmEngine.VqaMessages("what shapes are there?", [], null), [Golden("g7_non_square.png")]);
        Assert.Equal(prompt.ExpandedIds.Count, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        var (expected, _, _) = VlmRun.Run(_idefics3, prompt, [VlmEncode.ImageFeatures(_idefics3, VlmPreprocess.Pixels(_idefics3, Golden("g7_non_square.png")), Ct)],
            "c", new VlmDecoding(SamplingOptions.GreedyDefault(16)), null, _ => { }, CancellationToken.None);
        Assert.Equal(expected.Text, json.GetProperty("text").GetString());
    }
}
