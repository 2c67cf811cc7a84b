using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// Stage 3 (per step): the UNet's noise prediction with classifier-free guidance. With guidance the latent is
/// duplicated and run ONCE as the batch [uncond; cond] (one ORT call, the way diffusers does), then
/// eps = eps_u + g (eps_c - eps_u); with guidance at most 1 (or embeddings of batch 1) only the prompt is run.
/// A UNet exported with its batch fixed at 1 runs the two halves as two calls.
/// </summary>
public static class UnetDenoise
{
    /// <summary>Raw UNet output for the given batch of inputs ([B, C, H, W], B = embeddings batch), without IO binding.</summary>
    public static float[] RunRaw(DiffusionModel model, float[] modelInput, double timestep, TextEmbeddings text, int channels, int height, int width,
        CancellationToken ct = default)
    {
        using var unet = new UnetRunner(model, text, channels, height, width, ioBinding: false);
        return unet.Run(modelInput, timestep, ct);
    }

    /// <summary>eps_u + g (eps_c - eps_u) from the batch-2 output [uncond; cond].</summary>
    public static float[] Guide(float[] raw, int per, double guidance)
    {
        var result = new float[per];
        for (var i = 0; i < per; i++)
        {
            var u = raw[i];
            result[i] = (float)(u + guidance * (raw[per + i] - u));
        }
        return result;
    }
}

/// <summary>
/// Runs the UNet step after step for one image: the same latent for every row of the text batch, in the dtypes the
/// session declares (float32, or float16 in fp16 exports; timestep float, float16, int64 or int32), in as many calls
/// as a fixed export batch needs. With <c>ioBinding</c> every tensor lives in one <see cref="OrtValue"/> made once on
/// the CPU allocator and bound to an <see cref="OrtIoBinding"/>: the text embeddings are written once, the latents and
/// the timestep are written into their bound values each step, and the UNet writes its output into its bound value;
/// without it each step makes fresh values and ORT allocates the output (the plain <c>session.Run</c> path).
/// </summary>
public sealed class UnetRunner : IDisposable
{
    private readonly DiffusionModel _model;
    private readonly TextEmbeddings _text;
    private readonly int _per;
    private readonly int _channels, _height, _width;
    private readonly int _groupBatch;
    private readonly Bound[]? _bound;
    private readonly RunOptions? _runOptions;

    public UnetRunner(DiffusionModel model, TextEmbeddings text, int channels, int height, int width, bool ioBinding)
    {
        _model = model;
        _text = text;
        _channels = channels;
        _height = height;
        _width = width;
        _per = channels * height * width;
        var fixedBatch = model.UnetNames.FixedBatch;
        if (fixedBatch is { } fb && fb != 1 && fb != text.Batch)
            throw new NotSupportedException($"Model '{model.Id}': the UNet is exported for batch {fb} only; the hub runs batch 1 or {text.Batch}.");
        _groupBatch = fixedBatch is 1 ? 1 : text.Batch;
        RunsPerStep = text.Batch / _groupBatch;
        if (!ioBinding) return;
        _runOptions = new RunOptions();
        var bound = new List<Bound>();
        try
        {
            for (var g = 0; g < RunsPerStep; g++) bound.Add(new Bound(this, g));
        }
        catch
        {
            foreach (var b in bound) b.Dispose();
            _runOptions.Dispose();
            throw;
        }
        _bound = [.. bound];
    }

    /// <summary>ORT calls per step: 1, or the text batch when the export's batch is fixed at 1.</summary>
    public int RunsPerStep { get; }

    public bool IoBinding => _bound is not null;

    /// <summary>The raw UNet output [batch, C, H, W] for <paramref name="modelInput"/> [C, H, W] at <paramref name="timestep"/>.</summary>
    public float[] Run(float[] modelInput, double timestep, CancellationToken ct)
    {
        var raw = new float[_per * _text.Batch];
        for (var g = 0; g < RunsPerStep; g++)
        {
            var output = raw.AsSpan(g * _groupBatch * _per, _groupBatch * _per);
            if (_bound is { } bound) bound[g].Run(modelInput, timestep, output, ct);
            else RunPlain(g, modelInput, timestep, output, ct);
        }
        return raw;
    }

    private long[] SampleShape => [_groupBatch, _channels, _height, _width];

    private long[] HiddenShape => [_groupBatch, _text.Sequence, _text.Dim];

    private ReadOnlySpan<float> HiddenOf(int group)
    {
        var size = _text.Sequence * _text.Dim * _groupBatch;
        return _text.Data.AsSpan(group * size, size);
    }

    private float[] Repeated(float[] modelInput)
    {
        if (_groupBatch == 1) return modelInput;
        var sample = new float[_per * _groupBatch];
        for (var b = 0; b < _groupBatch; b++) Array.Copy(modelInput, 0, sample, b * _per, _per);
        return sample;
    }

    private void RunPlain(int group, float[] modelInput, double timestep, Span<float> output, CancellationToken ct)
    {
        var names = _model.UnetNames;
        using var sample = Tensors.FloatAs(names.SampleType, Repeated(modelInput), SampleShape);
        using var t = Timestep(names, _groupBatch);
        WriteTimestep(t, names.TimestepType, timestep);
        using var hidden = Tensors.FloatAs(names.HiddenType, HiddenOf(group), HiddenShape);
        SessionRun.Floats(_model.Unet, [names.Sample, names.Timestep, names.EncoderHiddenStates], [sample, t, hidden], [names.Output], ct)[0].Data
            .CopyTo(output);
    }

    /// <summary>A timestep tensor of the session's shape: [batch] as diffusers exports it, [1] when fixed, [] when scalar.</summary>
    private static OrtValue Timestep(UnetInputs names, int batch)
    {
        long[] shape = names.TimestepRank switch
        {
            0 => [],
            _ => [names.TimestepLength ?? batch],
        };
        return OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, names.TimestepType, shape);
    }

    private static void WriteTimestep(OrtValue value, TensorElementType type, double t)
    {
        switch (type)
        {
            case TensorElementType.Float: value.GetTensorMutableDataAsSpan<float>().Fill((float)t); break;
            case TensorElementType.Float16: value.GetTensorMutableDataAsSpan<Float16>().Fill((Float16)(float)t); break;
            case TensorElementType.Double: value.GetTensorMutableDataAsSpan<double>().Fill(t); break;
            case TensorElementType.Int64: value.GetTensorMutableDataAsSpan<long>().Fill((long)Math.Round(t)); break;
            case TensorElementType.Int32: value.GetTensorMutableDataAsSpan<int>().Fill((int)Math.Round(t)); break;
            default: throw new NotSupportedException($"UNet timestep of type {type} is not supported.");
        }
    }

    public void Dispose()
    {
        foreach (var b in _bound ?? []) b.Dispose();
        _runOptions?.Dispose();
    }

    /// <summary>One ORT call's binding: sample, timestep, text embeddings and output as values made once.</summary>
    private sealed class Bound : IDisposable
    {
        private readonly UnetRunner _runner;
        private readonly OrtIoBinding _binding;
        private readonly OrtValue _sample, _timestep, _hidden, _output;

        public Bound(UnetRunner runner, int group)
        {
            _runner = runner;
            var names = runner._model.UnetNames;
            var allocator = OrtAllocator.DefaultInstance;
            var values = new List<IDisposable>();
            T Own<T>(T value) where T : IDisposable { values.Add(value); return value; }
            try
            {
                _binding = Own(runner._model.Unet.CreateIoBinding());
                _sample = Own(OrtValue.CreateAllocatedTensorValue(allocator, names.SampleType, runner.SampleShape));
                _timestep = Own(Timestep(names, runner._groupBatch));
                _hidden = Own(OrtValue.CreateAllocatedTensorValue(allocator, names.HiddenType, runner.HiddenShape));
                _output = Own(OrtValue.CreateAllocatedTensorValue(allocator, names.OutputType, runner.SampleShape));
                Tensors.WriteFloats(_hidden, runner.HiddenOf(group));
                _binding.BindInput(names.Sample, _sample);
                _binding.BindInput(names.Timestep, _timestep);
                _binding.BindInput(names.EncoderHiddenStates, _hidden);
                _binding.BindOutput(names.Output, _output);
            }
            catch
            {
                foreach (var v in values) v.Dispose();
                throw;
            }
        }

        public void Run(float[] modelInput, double timestep, Span<float> output, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            var per = _runner._per;
            for (var b = 0; b < _runner._groupBatch; b++) Tensors.WriteFloats(_sample, modelInput, b * per);
            WriteTimestep(_timestep, _runner._model.UnetNames.TimestepType, timestep);
            var runOptions = _runner._runOptions!;
            using (ct.Register(() => runOptions.Terminate = true))
            {
                try
                {
                    _runner._model.Unet.RunWithBinding(runOptions, _binding);
                }
                catch (OnnxRuntimeException e) when (ct.IsCancellationRequested)
                {
                    throw new OperationCanceledException("The model run was cancelled.", e, ct);
                }
            }
            Tensors.ReadFloats(_output, output);
        }

        public void Dispose()
        {
            _binding.Dispose();
            _sample.Dispose();
            _timestep.Dispose();
            _hidden.Dispose();
            _output.Dispose();
        }
    }
}
