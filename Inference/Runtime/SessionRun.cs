using Microsoft.ML.OnnxRuntime;

namespace MultimodalHub.Inference.Runtime;

/// <summary>One float32 output of a session run, copied out of ORT's memory.</summary>
public sealed record FloatOutput(float[] Data, long[] Shape);

/// <summary>Running a session so that cancellation interrupts the run itself, not only the next one.</summary>
public static class SessionRun
{
    /// <summary>
    /// Run the session with a RunOptions of its own whose Terminate flag the token sets; the outputs are read as
    /// float32 and their ORT values disposed. A run terminated by the token throws OperationCanceledException.
    /// </summary>
    public static FloatOutput[] Floats(InferenceSession session, IReadOnlyCollection<string> inputNames, IReadOnlyCollection<OrtValue> inputs,
        IReadOnlyCollection<string> outputNames, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        ct.ThrowIfCancellationRequested();
        using var runOptions = new RunOptions();
        // Disposed before runOptions (declared after it): the callback never touches a disposed RunOptions.
        using var registration = ct.Register(() => runOptions.Terminate = true);
        try
        {
            using var outputs = session.Run(runOptions, inputNames, inputs, outputNames);
            return outputs.Select(o => new FloatOutput(Tensors.ToFloats(o), Tensors.Shape(o))).ToArray();
        }
        catch (OnnxRuntimeException e) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException("The model run was cancelled.", e, ct);
        }
    }
}
