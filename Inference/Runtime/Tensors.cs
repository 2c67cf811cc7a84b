using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MultimodalHub.Inference.Runtime;

/// <summary>Small helpers around <see cref="OrtValue"/>: the callers own (and dispose) every value returned.</summary>
public static class Tensors
{
    public static OrtValue Float(float[] data, params long[] shape) => OrtValue.CreateTensorValueFromMemory(data, shape);

    public static OrtValue Int64(long[] data, params long[] shape) => OrtValue.CreateTensorValueFromMemory(data, shape);

    public static OrtValue Int32(int[] data, params long[] shape) => OrtValue.CreateTensorValueFromMemory(data, shape);

    /// <summary>Integer ids as the tensor type the session declares for that input (int64 in most exports, int32 in diffusers' text encoder).</summary>
    public static OrtValue Ids(InferenceSession session, string inputName, ReadOnlySpan<long> ids, params long[] shape)
    {
        var type = session.InputMetadata[inputName].ElementDataType;
        return type switch
        {
            TensorElementType.Int64 => Int64(ids.ToArray(), shape),
            TensorElementType.Int32 => Int32(ToInt32(ids), shape),
            _ => throw new NotSupportedException($"Input '{inputName}' has element type {type}; expected int32 or int64."),
        };
    }

    public static float[] ToFloats(OrtValue value) => value.GetTensorDataAsSpan<float>().ToArray();

    public static long[] Shape(OrtValue value) => value.GetTensorTypeAndShape().Shape;

    private static int[] ToInt32(ReadOnlySpan<long> ids)
    {
        var result = new int[ids.Length];
        for (var i = 0; i < ids.Length; i++) result[i] = checked((int)ids[i]);
        return result;
    }
}
