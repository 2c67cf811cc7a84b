using BenchmarkDotNet.Attributes;
using MultimodalHub.Inference.Imaging;
using SkiaSharp;

namespace MultimodalHub.Bench;

/// <summary>
/// CLIP image preprocessing per image: the PIL-exact resize + center crop + normalize on decoded RGB, and the whole
/// path from JPEG bytes (decode + EXIF + RGB + preprocess). Run: dotnet run -c Release --project Inference/Bench -- --filter '*Preprocess*' --job short
/// </summary>
[MemoryDiagnoser]
public class PreprocessBenchmarks
{
    private ClipImageProcessor _processor = null!;
    private RgbImage _image = null!;
    private byte[] _jpeg = null!;
    private readonly ImageLimits _limits = new();

    [Params("512x512", "4000x3000")]
    public string Size { get; set; } = "512x512";

    [GlobalSetup]
    public void Setup()
    {
        _processor = new ClipImageProcessor(ClipImageProcessorConfig.Default);
        var parts = Size.Split('x');
        int w = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), h = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        var pixels = new byte[w * h * 3];
        var random = new Random(1);
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var p = (y * w + x) * 3;
                pixels[p] = (byte)(x * 255 / w);
                pixels[p + 1] = (byte)(y * 255 / h);
                pixels[p + 2] = (byte)random.Next(256);
            }
        _image = new RgbImage(w, h, pixels);
        var rgba = new byte[w * h * 4];
        for (int i = 0, j = 0; i < pixels.Length; i += 3, j += 4) { rgba[j] = pixels[i]; rgba[j + 1] = pixels[i + 1]; rgba[j + 2] = pixels[i + 2]; rgba[j + 3] = 255; }
        using var img = SKImage.FromPixelCopy(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque), rgba);
        using var data = img.Encode(SKEncodedImageFormat.Jpeg, 90);
        _jpeg = data.ToArray();
    }

    [Benchmark(Description = "preprocess (resize+crop+normalize)")]
    public float[] Preprocess() => _processor.Preprocess(_image);

    [Benchmark(Description = "decode JPEG + preprocess")]
    public float[] DecodeAndPreprocess() => _processor.Preprocess(ImageCodec.Decode(_jpeg, _limits));
}
