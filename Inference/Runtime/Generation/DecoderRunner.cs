using Microsoft.ML.OnnxRuntime;

namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>The tokens fed to one decoder step: ids [batch, length], or embeddings [batch, length, width].</summary>
public sealed record StepInput(int Batch, int Length, long[]? Ids, float[]? Embeds, int Width)
{
    public static StepInput OfIds(long[] ids, int batch) => new(batch, ids.Length / batch, ids, null, 0);

    public static StepInput OfEmbeds(float[] embeds, int batch, int width) => new(batch, embeds.Length / (batch * width), null, embeds, width);

    /// <summary>Rows of this input followed by rows of another (along the sequence axis).</summary>
    public StepInput Append(StepInput next)
    {
        if (next.Batch != Batch) throw new ArgumentException("batch differs", nameof(next));
        var len = Length + next.Length;
        if (Ids is not null && next.Ids is not null)
        {
            var ids = new long[Batch * len];
            for (var b = 0; b < Batch; b++)
            {
                Ids.AsSpan(b * Length, Length).CopyTo(ids.AsSpan(b * len));
                next.Ids.AsSpan(b * next.Length, next.Length).CopyTo(ids.AsSpan(b * len + Length));
            }
            return new StepInput(Batch, len, ids, null, 0);
        }
        if (Embeds is not null && next.Embeds is not null)
        {
            var e = new float[Batch * len * Width];
            for (var b = 0; b < Batch; b++)
            {
                Embeds.AsSpan(b * Length * Width, Length * Width).CopyTo(e.AsSpan(b * len * Width));
                next.Embeds.AsSpan(b * next.Length * Width, next.Length * Width).CopyTo(e.AsSpan((b * len + Length) * Width));
            }
            return new StepInput(Batch, len, null, e, Width);
        }
        throw new ArgumentException("cannot append ids and embeddings", nameof(next));
    }
}

/// <summary>
/// The logits of the last <see cref="Positions"/> positions of each row [batch, positions, width] (one unless the step
/// asked for more: scoring a prompt, verifying speculated tokens), and the grown cache.
/// </summary>
public sealed record StepOutput(float[] LastLogits, int Width, KvCache Cache, int Positions = 1) : IDisposable
{
    /// <summary>Row b's logits at the last position.</summary>
    public Span<float> Row(int b) => At(b, Positions - 1);

    /// <summary>Row b's logits at position p of the returned ones (0 = the earliest).</summary>
    public Span<float> At(int b, int p) => LastLogits.AsSpan(((b * Positions) + p) * Width, Width);

    public void Dispose() => Cache.Dispose();
}

/// <summary>
/// Runs one step of a KV-cache decoder session (prefill or decode) following the onnx-community protocol: ids or
/// embeddings (in the session's float type), attention_mask, position_ids when the export takes them,
/// num_logits_to_keep (the logits positions asked for, 1 while generating) when it takes that, the past caches (float32 or float16); logits come back as float32.
/// With <c>kvIoBinding</c> the step runs through an <see cref="OrtIoBinding"/>: the present.* outputs are bound to
/// the memory the session itself places them in (its execution provider's device allocator: GPU memory under CUDA, the
/// CPU allocator on the CPU), so the cache stays where the model runs and the next step takes it as past_key_values.*
/// without a copy; only the logits are bound to CPU memory. Without it the step is a plain <c>session.Run</c>, which on a
/// GPU copies every present.* to CPU memory after the step and back before the next (Inference:KvIoBinding).
/// </summary>
public sealed class DecoderRunner(InferenceSession session, DecoderSpec spec, bool kvIoBinding = false) : IDisposable
{
    private readonly OrtMemoryInfo[]? _presentMemory = kvIoBinding ? PresentMemory(session, spec) : null;

    public DecoderSpec Spec => spec;

    /// <summary>Whether steps run through IO binding with the cache in the session's own memory.</summary>
    public bool KvIoBinding => _presentMemory is not null;

    /// <summary>Whether the cache lives outside CPU memory (a GPU provider with IO binding): it cannot be read or cut on the CPU then.</summary>
    public bool KvOnDevice => _presentMemory?.Any(m => m.GetDeviceType() != OrtMemoryInfoDeviceType.CPU) == true;

    private DecoderRunner? _hostCache;

    /// <summary>
    /// This runner, or, when its cache lives in device memory, one on the same session that keeps the cache in CPU memory
    /// (plain <c>session.Run</c>): for loops that cut or reorder the cache between steps (speculative decoding, beam search).
    /// </summary>
    public DecoderRunner HostCache => KvOnDevice ? _hostCache ??= new DecoderRunner(session, spec) : this;

    /// <summary>Frees the device memory descriptions made for the present.* outputs (not the session, which its owner disposes).</summary>
    public void Dispose()
    {
        foreach (var memory in _presentMemory ?? [])
            if (!ReferenceEquals(memory, OrtMemoryInfo.DefaultInstance))
                memory.Dispose();
        _hostCache?.Dispose();
    }

    /// <summary>
    /// Feed <paramref name="input"/> after <paramref name="past"/> (which is not disposed). attentionMask covers
    /// past + input ([batch, past + length], 1 = real, 0 = left padding); positionIds are [batch, length].
    /// <paramref name="logitsPositions"/>: how many of the last positions' logits to return (1 to input length).
    /// </summary>
    public StepOutput Run(StepInput input, long[] attentionMask, long[] positionIds, KvCache past, CancellationToken ct, int logitsPositions = 1)
    {
        if (logitsPositions < 1 || logitsPositions > input.Length) throw new ArgumentOutOfRangeException(nameof(logitsPositions));
        ct.ThrowIfCancellationRequested();
        var b = input.Batch;
        var total = past.Length + input.Length;
        if (attentionMask.Length != b * total) throw new ArgumentException($"attention mask has {attentionMask.Length} values, expected {b * total}");
        var names = new List<string>(3 + spec.PastNames.Count);
        var values = new List<OrtValue>(3 + spec.PastNames.Count);
        var owned = new List<OrtValue>(3);
        try
        {
            var tokens = input.Ids is not null
                ? Tensors.Ids(session, spec.TokenInput, input.Ids, b, input.Length)
                : Tensors.FloatInput(session, spec.TokenInput, input.Embeds!, b, input.Length, input.Width);
            owned.Add(tokens);
            names.Add(spec.TokenInput); values.Add(tokens);
            var mask = Tensors.Int64(attentionMask, b, total);
            owned.Add(mask);
            names.Add("attention_mask"); values.Add(mask);
            if (spec.HasPositionIds)
            {
                var pos = Tensors.Int64(positionIds, b, input.Length);
                owned.Add(pos);
                names.Add("position_ids"); values.Add(pos);
            }
            if (spec.LogitsToKeepInput is { } keepName)
            {
                // The export computes only the logits asked for (1 while generating).
                long[] keepShape = spec.LogitsToKeepRank == 0 ? [] : [1];
                var keep = Tensors.Int64([logitsPositions], keepShape);
                owned.Add(keep);
                names.Add(keepName); values.Add(keep);
            }
            for (var i = 0; i < spec.PastNames.Count; i++) { names.Add(spec.PastNames[i]); values.Add(past.Values[i]); }

            using var options = new RunOptions();
            using var cancel = ct.Register(() => options.Terminate = true);
            var outputs = _presentMemory is { } memory ? RunBound(options, names, values, memory) : RunPlain(options, names, values);
            try
            {
                ct.ThrowIfCancellationRequested();
                var last = LastLogits(outputs[0], b, logitsPositions, out var width);
                outputs[0].Dispose(); // the logits are copied; free them now (the presents stay with the cache)
                var presents = new OrtValue[spec.PresentNames.Count];
                for (var i = 0; i < presents.Length; i++) presents[i] = outputs[i + 1];
                return new StepOutput(last, width, KvCache.Adopt(outputs, presents, b, total), logitsPositions);
            }
            catch
            {
                outputs.Dispose();
                throw;
            }
        }
        catch (OnnxRuntimeException) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }
        finally
        {
            foreach (var v in owned) v.Dispose();
        }
    }

    private IDisposableReadOnlyCollection<OrtValue> RunPlain(RunOptions options, List<string> names, List<OrtValue> values)
    {
        var outputNames = new List<string>(1 + spec.PresentNames.Count) { "logits" };
        outputNames.AddRange(spec.PresentNames);
        return session.Run(options, names, values, outputNames);
    }

    /// <summary>The step through IO binding: logits bound to CPU memory, present.* to the session's own output memory; outputs in that order.</summary>
    private IDisposableReadOnlyCollection<OrtValue> RunBound(RunOptions options, List<string> names, List<OrtValue> values, OrtMemoryInfo[] presentMemory)
    {
        using var binding = session.CreateIoBinding();
        for (var i = 0; i < names.Count; i++) binding.BindInput(names[i], values[i]);
        binding.BindOutputToDevice("logits", OrtMemoryInfo.DefaultInstance);
        for (var i = 0; i < spec.PresentNames.Count; i++) binding.BindOutputToDevice(spec.PresentNames[i], presentMemory[i]);
        return session.RunWithBoundResults(options, binding);
    }

    /// <summary>
    /// A runner with IO binding on, off, or (<paramref name="kvIoBinding"/> null, Inference:KvIoBinding's default) where it
    /// pays: when the session places present.* outside CPU memory (a GPU provider), so that session.Run would copy the
    /// cache to the host and back every step. On the CPU session.Run leaves the cache where ONNX Runtime put it too, and
    /// binding only adds its native calls each step (measured 2-3% slower there: KvIoBindingBenchmarks).
    /// </summary>
    public static DecoderRunner Create(InferenceSession session, DecoderSpec spec, bool? kvIoBinding) =>
        new(session, spec, kvIoBinding ?? CacheOutsideCpu(session, spec));

    /// <summary>Whether the session places any present.* output outside CPU memory (a GPU provider's device memory).</summary>
    public static bool CacheOutsideCpu(InferenceSession session, DecoderSpec spec)
    {
        using var infos = session.GetMemoryInfosForOutputs();
        return spec.PresentNames.Any(name => PresentInfo(session, infos, name).GetDeviceType() != OrtMemoryInfoDeviceType.CPU);
    }

    /// <summary>Where the session places each present.* output: the CPU allocator, or a copy of its device memory description.</summary>
    private static OrtMemoryInfo[] PresentMemory(InferenceSession session, DecoderSpec spec)
    {
        using var infos = session.GetMemoryInfosForOutputs();
        var memory = new OrtMemoryInfo[spec.PresentNames.Count];
        for (var i = 0; i < memory.Length; i++)
        {
            var info = PresentInfo(session, infos, spec.PresentNames[i]);
            memory[i] = info.GetDeviceType() == OrtMemoryInfoDeviceType.CPU
                ? OrtMemoryInfo.DefaultInstance
                : new OrtMemoryInfo(info.Name, info.GetAllocatorType(), info.Id, info.GetMemoryType());
        }
        return memory;
    }

    private static OrtMemoryInfo PresentInfo(InferenceSession session, IReadOnlyList<OrtMemoryInfo> infos, string name)
    {
        var outputNames = session.OutputNames;
        for (var i = 0; i < outputNames.Count; i++) if (outputNames[i] == name) return infos[i];
        throw new InvalidDataException($"The decoder has no output '{name}'.");
    }

    private static float[] LastLogits(OrtValue logits, int b, int positions, out int width)
    {
        var shape = logits.GetTensorTypeAndShape().Shape;
        width = checked((int)shape[2]);
        var seq = checked((int)shape[1]);
        var last = new float[b * positions * width];
        for (var r = 0; r < b; r++) Tensors.ReadFloats(logits, ((r * seq) + seq - positions) * width, last.AsSpan(r * positions * width, positions * width));
        return last;
    }

    /// <summary>position_ids = cumsum(mask) - 1 over the full mask, 1 at padded positions; the last <paramref name="length"/> of each row.</summary>
    public static long[] Positions(long[] mask, int batch, int length)
    {
        var total = mask.Length / batch;
        var pos = new long[batch * length];
        for (var b = 0; b < batch; b++)
        {
            long sum = 0;
            for (var t = 0; t < total; t++)
            {
                sum += mask[b * total + t];
                var j = t - (total - length);
                if (j >= 0) pos[b * length + j] = mask[b * total + t] == 0 ? 1 : sum - 1;
            }
        }
        return pos;
    }
}
