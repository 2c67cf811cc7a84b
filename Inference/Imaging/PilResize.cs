namespace MultimodalHub.Inference.Imaging;

/// <summary>PIL's resampling filters, numbered as PIL.Image.Resampling (and preprocessor_config.json's "resample").</summary>
public enum PilFilter { Nearest = 0, Lanczos = 1, Bilinear = 2, Bicubic = 3, Box = 4, Hamming = 5 }

/// <summary>
/// A port of Pillow's ImagingResample for 8-bit RGB (libImaging/Resample.c), so preprocessing reproduces
/// transformers' PIL-backed image processors: separable convolution, horizontal pass first, then vertical;
/// the filter support widened by the scale when downscaling (antialiasing); coefficients normalised to sum 1 and
/// converted to 22-bit fixed point; every pass rounds and clips to uint8. SkiaSharp's and sharp's bicubic differ from
/// this at edges by up to 3.5 in normalised units, which moves CLIP embeddings, hence the port.
/// </summary>
public static class PilResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Resize to exactly width x height with the given PIL filter.</summary>
    public static RgbImage Resize(RgbImage image, int width, int height, PilFilter filter = PilFilter.Bicubic) =>
        ResizeRegion(image, width, height, 0, 0, width, height, filter);

    /// <summary>
    /// The region [left, left + regionWidth) x [top, top + regionHeight) of the image resized to width x height: the
    /// same pixels as <see cref="Resize"/> followed by a crop, but coefficients, work and memory only for the kept
    /// output rows and columns (a 1x20000 image resized to 224x4480000 and centre-cropped costs a 224x224 resize).
    /// </summary>
    public static RgbImage ResizeRegion(RgbImage image, long width, long height, long left, long top, int regionWidth, int regionHeight,
        PilFilter filter = PilFilter.Bicubic)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(regionWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(regionHeight, 1);
        if (left < 0 || top < 0 || left + regionWidth > width || top + regionHeight > height)
            throw new ArgumentOutOfRangeException(nameof(left), $"Region {regionWidth}x{regionHeight}+{left}+{top} is outside the {width}x{height} output.");
        if (filter == PilFilter.Nearest) throw new NotSupportedException("PIL NEAREST resampling is not implemented; use bilinear, bicubic, lanczos, box or hamming.");
        if (width == image.Width && height == image.Height)
            return Crop(image, (int)left, (int)top, regionWidth, regionHeight, copy: true);

        var vertical = height != image.Height ? Precompute(image.Height, height, top, regionHeight, filter) : null;
        // Only the source rows the vertical pass reads are resampled horizontally (as PIL does).
        int first, last;
        if (vertical is not null)
        {
            first = vertical.Bounds[0];
            last = vertical.Bounds[(regionHeight - 1) * 2] + vertical.Bounds[(regionHeight - 1) * 2 + 1];
            for (var i = 0; i < regionHeight; i++) vertical.Bounds[i * 2] -= first;
        }
        else
        {
            (first, last) = ((int)top, (int)top + regionHeight);
        }
        var source = width != image.Width
            ? Horizontal(image, regionWidth, first, last - first, Precompute(image.Width, width, left, regionWidth, filter))
            : Crop(image, (int)left, first, regionWidth, last - first, copy: false);
        return vertical is not null ? Vertical(source, regionHeight, vertical) : source;
    }

    /// <summary>A rectangle of the image (the image itself when it is all of it and no copy is asked for).</summary>
    private static RgbImage Crop(RgbImage image, int x, int y, int w, int h, bool copy)
    {
        if (x == 0 && y == 0 && w == image.Width && h == image.Height)
            return copy ? image with { Pixels = (byte[])image.Pixels.Clone() } : image;
        var dst = new byte[w * h * 3];
        for (var row = 0; row < h; row++)
            image.Pixels.AsSpan(((y + row) * image.Width + x) * 3, w * 3).CopyTo(dst.AsSpan(row * w * 3));
        return new RgbImage(w, h, dst);
    }

    private sealed record Coefficients(int KSize, int[] Bounds, int[] Weights);

    private static (Func<double, double> Filter, double Support) FilterOf(PilFilter filter) => filter switch
    {
        PilFilter.Box => (Box, 0.5),
        PilFilter.Bilinear => (Bilinear, 1.0),
        PilFilter.Hamming => (Hamming, 1.0),
        PilFilter.Bicubic => (Bicubic, 2.0),
        PilFilter.Lanczos => (Lanczos, 3.0),
        _ => throw new NotSupportedException($"PIL filter {filter} is not supported."),
    };

    /// <summary>
    /// precompute_coeffs + normalize_coeffs_8bpc of Resample.c, for the output positions [first, first + count) of an
    /// outSize-long output only.
    /// </summary>
    private static Coefficients Precompute(int inSize, long outSize, long first, int count, PilFilter kind)
    {
        var (filter, baseSupport) = FilterOf(kind);
        double scale = (double)inSize / outSize, filterScale = Math.Max(scale, 1.0);
        var support = baseSupport * filterScale;
        var ksize = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[count * 2];
        var weights = new int[checked(count * ksize)];
        var k = new double[ksize];
        for (var xx = 0; xx < count; xx++)
        {
            var center = (first + xx + 0.5) * scale;
            var ss = 1.0 / filterScale;
            var xmin = Math.Max((int)(center - support + 0.5), 0);
            var xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            var ww = 0.0;
            for (var x = 0; x < xmax; x++)
            {
                var w = filter((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (var x = 0; x < xmax; x++)
            {
                var v = ww != 0.0 ? k[x] / ww : k[x];
                weights[xx * ksize + x] = v < 0 ? (int)(-0.5 + v * (1 << PrecisionBits)) : (int)(0.5 + v * (1 << PrecisionBits));
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        return new Coefficients(ksize, bounds, weights);
    }

    private static unsafe RgbImage Horizontal(RgbImage image, int outWidth, int firstRow, int rows, Coefficients c)
    {
        var inStride = image.Width * 3;
        var dst = new byte[outWidth * rows * 3];
        ForRows(rows, outWidth * c.KSize, y =>
        {
            // Pointers: this inner loop is most of the time of a large downscale, and the bounds are fixed by Precompute.
            fixed (byte* srcBase = image.Pixels, dstBase = dst)
            fixed (int* weights = c.Weights, bounds = c.Bounds)
            {
                var srcRow = srcBase + (long)(y + firstRow) * inStride;
                var d = dstBase + (long)y * outWidth * 3;
                for (var xx = 0; xx < outWidth; xx++, d += 3)
                {
                    int count = bounds[xx * 2 + 1];
                    var k = weights + xx * c.KSize;
                    var p = srcRow + bounds[xx * 2] * 3;
                    int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                    for (var x = 0; x < count; x++, p += 3)
                    {
                        var w = k[x];
                        s0 += p[0] * w;
                        s1 += p[1] * w;
                        s2 += p[2] * w;
                    }
                    d[0] = Clip8(s0);
                    d[1] = Clip8(s1);
                    d[2] = Clip8(s2);
                }
            }
        });
        return new RgbImage(outWidth, rows, dst);
    }

    private static RgbImage Vertical(RgbImage image, int outHeight, Coefficients c)
    {
        var src = image.Pixels;
        var stride = image.Width * 3;
        var dst = new byte[outHeight * stride];
        ForRows(outHeight, image.Width * c.KSize, yy =>
        {
            int ymin = c.Bounds[yy * 2], count = c.Bounds[yy * 2 + 1], kOffset = yy * c.KSize;
            // Accumulate whole source rows (sequential memory, SIMD), then round/clip once: the same integer sums as PIL.
            var acc = System.Buffers.ArrayPool<int>.Shared.Rent(stride);
            try
            {
                acc.AsSpan(0, stride).Fill(1 << (PrecisionBits - 1));
                for (var y = 0; y < count; y++)
                    AddScaledRow(src.AsSpan((ymin + y) * stride, stride), c.Weights[kOffset + y], acc.AsSpan(0, stride));
                var dstRow = yy * stride;
                for (var i = 0; i < stride; i++) dst[dstRow + i] = Clip8(acc[i]);
            }
            finally
            {
                System.Buffers.ArrayPool<int>.Shared.Return(acc);
            }
        });
        return new RgbImage(image.Width, outHeight, dst);
    }

    /// <summary>acc[i] += row[i] * weight, widening bytes to ints with System.Numerics.Vector where available.</summary>
    private static void AddScaledRow(ReadOnlySpan<byte> row, int weight, Span<int> acc)
    {
        var i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && row.Length >= System.Numerics.Vector<byte>.Count)
        {
            var w = new System.Numerics.Vector<int>(weight);
            var n = System.Numerics.Vector<int>.Count;
            var accVectors = System.Runtime.InteropServices.MemoryMarshal.Cast<int, System.Numerics.Vector<int>>(acc);
            for (; i + System.Numerics.Vector<byte>.Count <= row.Length; i += System.Numerics.Vector<byte>.Count)
            {
                var bytes = new System.Numerics.Vector<byte>(row[i..]);
                System.Numerics.Vector.Widen(bytes, out var lo, out var hi);
                System.Numerics.Vector.Widen(lo, out var a, out var b);
                System.Numerics.Vector.Widen(hi, out var c2, out var d);
                var v = i / n;
                accVectors[v] += System.Numerics.Vector.AsVectorInt32(a) * w;
                accVectors[v + 1] += System.Numerics.Vector.AsVectorInt32(b) * w;
                accVectors[v + 2] += System.Numerics.Vector.AsVectorInt32(c2) * w;
                accVectors[v + 3] += System.Numerics.Vector.AsVectorInt32(d) * w;
            }
        }
        for (; i < row.Length; i++) acc[i] += row[i] * weight;
    }

    /// <summary>Rows in parallel when there is enough work to pay for it; each row is independent, so results are identical.</summary>
    private static void ForRows(int rows, int workPerRow, Action<int> row)
    {
        if ((long)rows * workPerRow < 1_000_000 || Environment.ProcessorCount == 1)
        {
            for (var y = 0; y < rows; y++) row(y);
            return;
        }
        Parallel.For(0, rows, row);
    }

    private static byte Clip8(int value)
    {
        var v = value >> PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    private static double Box(double x) => x > -0.5 && x <= 0.5 ? 1.0 : 0.0;

    private static double Bilinear(double x)
    {
        x = Math.Abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    private static double Hamming(double x)
    {
        x = Math.Abs(x);
        if (x == 0.0) return 1.0;
        if (x >= 1.0) return 0.0;
        x *= Math.PI;
        return Math.Sin(x) / x * (0.54 + 0.46 * Math.Cos(x));
    }

    private static double Bicubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    private static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }

    private static double Lanczos(double x) => x is >= -3.0 and < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0;
}
