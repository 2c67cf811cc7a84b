using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Tests.Core;

public sealed class ModelVariantsTests
{
    [Theory]
    [InlineData("onnx/model.onnx", "onnx/model", OnnxVariant.Fp32)]
    [InlineData("onnx/model_fp16.onnx", "onnx/model", OnnxVariant.Fp16)]
    [InlineData("onnx/model_quantized.onnx", "onnx/model", OnnxVariant.Q8)]
    [InlineData("onnx/model_int8.onnx", "onnx/model", OnnxVariant.Int8)]
    [InlineData("onnx/model_uint8.onnx", "onnx/model", OnnxVariant.Uint8)]
    [InlineData("onnx/model_q4.onnx", "onnx/model", OnnxVariant.Q4)]
    [InlineData("onnx/decoder_model_merged_q4f16.onnx", "onnx/decoder_model_merged", OnnxVariant.Q4F16)]
    [InlineData("onnx/vision_encoder_bnb4.onnx", "onnx/vision_encoder", OnnxVariant.Bnb4)]
    [InlineData("unet/model.onnx", "unet/model", OnnxVariant.Fp32)]
    public void File_names_map_to_graph_and_variant(string file, string graph, OnnxVariant variant)
    {
        Assert.Equal((graph, variant), OnnxVariants.Parse(file));
        Assert.Equal(file, OnnxVariants.FileOf(graph, variant));
    }

    [Fact]
    public void Non_onnx_files_are_no_variant()
    {
        Assert.Null(OnnxVariants.Parse("onnx/model.onnx_data"));
        Assert.Null(OnnxVariants.Parse("config.json"));
    }

    [Theory]
    [InlineData("q4", OnnxVariant.Q4)]
    [InlineData("Q4F16", OnnxVariant.Q4F16)]
    [InlineData("quantized", OnnxVariant.Q8)]
    [InlineData("q8", OnnxVariant.Q8)]
    [InlineData("fp32", OnnxVariant.Fp32)]
    public void Variant_names_parse(string name, OnnxVariant expected)
    {
        Assert.True(OnnxVariants.TryParse(name, out var v));
        Assert.Equal(expected, v);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("")]
    [InlineData("q3")]
    public void Other_names_do_not_parse(string name) => Assert.False(OnnxVariants.TryParse(name, out _));

    [Fact]
    public void A_folder_holding_only_a_quantised_graph_runs_that_variant()
    {
        using var models = new TempModels();
        models.CopyModel("shapes-chat");
        var dir = Path.Combine(models.Path, "shapes-chat");
        File.Move(Path.Combine(dir, "onnx", "model.onnx"), Path.Combine(dir, "onnx", "model_q4.onnx"));

        var d = ModelRegistry.Describe(dir);

        Assert.Equal(ModelKind.Chat, d.Kind);
        Assert.Null(d.Error);
        Assert.Equal([OnnxVariant.Q4], d.Variants);
        Assert.Equal(OnnxVariant.Q4, d.Variant);
        Assert.Equal(Path.Combine(dir, "onnx", "model_q4.onnx"), d.Onnx("onnx/model"));
    }

    [Fact]
    public void Auto_prefers_full_precision_and_a_configured_variant_wins()
    {
        using var models = new TempModels();
        models.CopyModel("shapes-chat");
        var dir = Path.Combine(models.Path, "shapes-chat");
        File.Copy(Path.Combine(dir, "onnx", "model.onnx"), Path.Combine(dir, "onnx", "model_fp16.onnx"));

        Assert.Equal(OnnxVariant.Fp32, ModelRegistry.Describe(dir).Variant);
        Assert.Equal([OnnxVariant.Fp32, OnnxVariant.Fp16], ModelRegistry.Describe(dir).Variants);
        var fp16 = ModelRegistry.Describe(dir, new VariantChoice(OnnxVariant.Fp16, OnnxVariants.CpuPreference));
        Assert.Null(fp16.Error);
        Assert.Equal(OnnxVariant.Fp16, fp16.Variant);
        Assert.Equal(OnnxVariant.Fp16, ModelRegistry.Describe(dir, new VariantChoice(null, OnnxVariants.GpuPreference)).Variant);
    }

    [Fact]
    public void A_configured_variant_the_folder_lacks_is_a_clear_error()
    {
        using var models = new TempModels();
        models.CopyModel("shapes-chat");
        var d = ModelRegistry.Describe(Path.Combine(models.Path, "shapes-chat"), new VariantChoice(OnnxVariant.Q4, OnnxVariants.CpuPreference));
        Assert.False(d.IsValid);
        Assert.Contains("variant q4 is configured but the folder holds fp32", d.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_variant_needs_every_graph_of_the_layout()
    {
        using var models = new TempModels();
        models.CopyModel("shapes-vlm");
        var dir = Path.Combine(models.Path, "shapes-vlm");
        // Only the decoder in q4: q4 is not complete, fp32 still is.
        File.Copy(Path.Combine(dir, "onnx", "decoder_model_merged.onnx"), Path.Combine(dir, "onnx", "decoder_model_merged_q4.onnx"));
        var d = ModelRegistry.Describe(dir);
        Assert.Equal([OnnxVariant.Fp32], d.Variants);
        File.Delete(Path.Combine(dir, "onnx", "embed_tokens.onnx"));
        var broken = ModelRegistry.Describe(dir);
        Assert.Contains("missing onnx/embed_tokens.onnx", broken.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_model_configuration_overrides_the_default()
    {
        var options = new InferenceOptions { Variant = "fp16", ModelVariants = new(StringComparer.OrdinalIgnoreCase) { ["shapes-chat"] = "q4" } };
        Assert.Equal(OnnxVariant.Q4, options.VariantChoiceFor("Shapes-Chat").Requested);
        Assert.Equal(OnnxVariant.Fp16, options.VariantChoiceFor("clip-shapes").Requested);
        Assert.Null(new InferenceOptions().VariantChoiceFor("clip-shapes").Requested);
    }
}
