using MultimodalHub.Contracts;
using MultimodalHub.Inference.Hub;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Tests.Hub;

/// <summary>Which files a pull takes, on the file lists of real public repositories (as the hub's API lists them).</summary>
public sealed class PullPlannerTests
{
    private static HubRepoInfo Repo(string id, params string[] files) =>
        new(id, new string('a', 40), files.Select(f => new HubFile(f, 1000, f.Contains(".onnx", StringComparison.Ordinal) || f.EndsWith(".pb", StringComparison.Ordinal) ? new string('b', 64) : null, new string('c', 40))).ToList(), null);

    private static PullSpec Spec(string repo, string? variant = null, string? kind = null) => PullSpec.From(new ModelPullRequest(repo, null, variant, kind));

    private static readonly string[] Variants = ["", "_fp16", "_quantized", "_int8", "_uint8", "_q4", "_q4f16", "_bnb4"];

    /// <summary>Xenova/clip-vit-base-patch32: three graphs (combined, text, vision) in eight variants.</summary>
    private static HubRepoInfo XenovaClip() => Repo("Xenova/clip-vit-base-patch32",
        [".gitattributes", "README.md", "config.json", "merges.txt", "preprocessor_config.json", "quantize_config.json", "special_tokens_map.json",
         "tokenizer.json", "tokenizer_config.json", "vocab.json",
         .. Variants.SelectMany(v => new[] { $"onnx/model{v}.onnx", $"onnx/text_model{v}.onnx", $"onnx/vision_model{v}.onnx" })]);

    [Fact]
    public void Clip_takes_both_towers_and_the_combined_graph_in_the_chosen_variant_plus_configs()
    {
        var plan = PullPlanner.Plan(XenovaClip(), Spec("Xenova/clip-vit-base-patch32", "q8"), "clip");
        Assert.Equal(ModelKind.Clip, plan.Kind);
        Assert.Equal(OnnxVariant.Q8, plan.Variant);
        Assert.Equal(8, plan.Variants.Count);
        var files = plan.Files.Select(f => f.Path).ToList();
        Assert.Equal(["config.json", "merges.txt", "preprocessor_config.json", "quantize_config.json", "special_tokens_map.json", "tokenizer.json",
            "tokenizer_config.json", "vocab.json", "onnx/model_quantized.onnx", "onnx/text_model_quantized.onnx", "onnx/vision_model_quantized.onnx"], files);
        Assert.Equal(11_000, plan.TotalBytes);
        // Without --variant: the CPU preference order (fp32 first).
        Assert.Equal(OnnxVariant.Fp32, PullPlanner.Plan(XenovaClip(), Spec("Xenova/clip-vit-base-patch32"), "clip").Variant);
    }

    [Fact]
    public void A_chat_export_takes_its_external_data_only_for_the_variant_that_has_it()
    {
        var qwen = Repo("onnx-community/Qwen2.5-0.5B-Instruct",
            ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "merges.txt", "vocab.json", "added_tokens.json",
             "special_tokens_map.json", "onnx/model.onnx", "onnx/model.onnx_data", "onnx/model_fp16.onnx", "onnx/model_q4.onnx", "onnx/model_q4f16.onnx",
             "onnx/model_quantized.onnx", "onnx/model_int8.onnx", "onnx/model_uint8.onnx", "onnx/model_bnb4.onnx"]);
        var fp32 = PullPlanner.Plan(qwen, Spec(qwen.Repo), "qwen2");
        Assert.Equal(ModelKind.Chat, fp32.Kind);
        Assert.Contains(fp32.Files, f => f.Path == "onnx/model.onnx_data");
        Assert.Contains(fp32.Files, f => f.Path == "generation_config.json");
        var q4 = PullPlanner.Plan(qwen, Spec(qwen.Repo, "q4"), "qwen2");
        Assert.Equal(["onnx/model_q4.onnx"], q4.Files.Where(f => f.Path.StartsWith("onnx/", StringComparison.Ordinal)).Select(f => f.Path));
        // The same files with a BERT config are a sentence encoder, not a chat model.
        Assert.Equal(ModelKind.Embedding, PullPlanner.Plan(qwen, Spec(qwen.Repo), "bert").Kind);
    }

    [Fact]
    public void A_diffusers_onnx_export_takes_its_four_graphs_and_weights_but_not_the_safety_checker()
    {
        var sd = Repo("someone/stable-diffusion-v1-5-onnx",
            ["model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "text_encoder/model.onnx", "tokenizer/merges.txt",
             "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json", "unet/config.json", "unet/model.onnx",
             "unet/weights.pb", "vae_decoder/config.json", "vae_decoder/model.onnx", "vae_encoder/config.json", "vae_encoder/model.onnx",
             "safety_checker/config.json", "safety_checker/model.onnx", "feature_extractor/preprocessor_config.json", "v1-5-pruned.safetensors"]);
        var plan = PullPlanner.Plan(sd, Spec(sd.Repo), null);
        Assert.Equal(ModelKind.Diffusion, plan.Kind);
        var files = plan.Files.Select(f => f.Path).ToHashSet();
        Assert.Superset(new HashSet<string> { "unet/model.onnx", "unet/weights.pb", "vae_encoder/model.onnx", "tokenizer/merges.txt", "scheduler/scheduler_config.json" }, files);
        Assert.DoesNotContain("safety_checker/model.onnx", files);
        Assert.DoesNotContain("v1-5-pruned.safetensors", files);
    }

    [Fact]
    public void A_repo_without_an_onnx_export_or_without_the_asked_variant_is_refused_with_what_it_has()
    {
        var torch = Repo("openai/clip-vit-base-patch32", ["config.json", "pytorch_model.bin", "model.safetensors", "tokenizer.json"]);
        var none = Assert.Throws<PullException>(() => PullPlanner.Plan(torch, Spec(torch.Repo), "clip"));
        Assert.Equal(PullErrorKind.Unsupported, none.Kind);
        Assert.Contains("none of them .onnx", none.Message);

        var fp32Only = Repo("x/clip", ["config.json", "preprocessor_config.json", "tokenizer.json", "onnx/text_model.onnx", "onnx/vision_model.onnx"]);
        var missing = Assert.Throws<PullException>(() => PullPlanner.Plan(fp32Only, Spec(fp32Only.Repo, "q4"), null));
        Assert.Contains("no q4 variant", missing.Message);
        Assert.Contains("it has fp32", missing.Message);

        var bad = Assert.Throws<InvalidRequestException>(() => Spec("x/clip", "fp8"));
        Assert.Equal("variant", bad.Field);
        Assert.Equal("kind", Assert.Throws<InvalidRequestException>(() => Spec("x/clip", null, "audio")).Field);
        Assert.Equal("repo", Assert.Throws<InvalidRequestException>(() => Spec("../etc")).Field);
    }

    [Fact]
    public void Repository_references_parse_owner_name_and_revision()
    {
        Assert.True(HubRepoRef.TryParse("Xenova/clip-vit-base-patch32@refs/pr/3", out var r, out _));
        Assert.Equal("Xenova/clip-vit-base-patch32", r.Repo);
        Assert.Equal("refs/pr/3", r.Revision);
        Assert.Equal("clip-vit-base-patch32", r.Name);
        Assert.True(HubRepoRef.TryParse("gpt2", out var bare, out _));
        Assert.Equal("main", bare.Revision);
        Assert.False(HubRepoRef.TryParse("a/b/c", out _, out var error));
        Assert.Contains("owner/name", error);
    }
}
