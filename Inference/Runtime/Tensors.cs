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

    /// <summary>A float32 or float16 tensor's data as float32 (fp16 exports return fp16).</summary>
    public static float[] ToFloats(OrtValue value)
    {
        var type = value.GetTensorTypeAndShape().ElementDataType;
        if (type != TensorElementType.Float16) return value.GetTensorDataAsSpan<float>().ToArray();
        var result = new float[value.GetTensorTypeAndShape().ElementCount];
        HalfToFloat(value.GetTensorDataAsSpan<Float16>(), result);
        return result;
    }

    /// <summary>Float data as a tensor of the element type a session declares (float32, or float16 in fp16 exports).</summary>
    public static OrtValue FloatAs(TensorElementType type, ReadOnlySpan<float> data, params long[] shape) => type switch
    {
        TensorElementType.Float => Float(data.ToArray(), shape),
        TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(ToHalf(data), shape),
        TensorElementType.Double => OrtValue.CreateTensorValueFromMemory(ToDouble(data), shape),
        _ => throw new NotSupportedException($"Expected a float32, float16 or float64 input, not {type}."),
    };

    /// <summary><see cref="FloatAs(TensorElementType, ReadOnlySpan{float}, long[])"/> with the type the session declares for the input.</summary>
    public static OrtValue FloatInput(InferenceSession session, string inputName, ReadOnlySpan<float> data, params long[] shape) =>
        FloatAs(session.InputMetadata[inputName].ElementDataType, data, shape);

    /// <summary>Writes float data into a float32/float16/float64 tensor's own memory from element <paramref name="offset"/> (a bound, reused input).</summary>
    public static void WriteFloats(OrtValue value, ReadOnlySpan<float> source, int offset = 0)
    {
        switch (value.GetTensorTypeAndShape().ElementDataType)
        {
            case TensorElementType.Float: source.CopyTo(value.GetTensorMutableDataAsSpan<float>()[offset..]); break;
            case TensorElementType.Float16: FloatToHalf(source, value.GetTensorMutableDataAsSpan<Float16>()[offset..]); break;
            case TensorElementType.Double:
                var d = value.GetTensorMutableDataAsSpan<double>()[offset..];
                for (var i = 0; i < source.Length; i++) d[i] = source[i];
                break;
            default: throw new NotSupportedException($"Expected a float32, float16 or float64 tensor, not {value.GetTensorTypeAndShape().ElementDataType}.");
        }
    }

    /// <summary>Reads a float32/float16 tensor's data as float32 into <paramref name="destination"/> (a bound, reused output).</summary>
    public static void ReadFloats(OrtValue value, Span<float> destination)
    {
        switch (value.GetTensorTypeAndShape().ElementDataType)
        {
            case TensorElementType.Float: value.GetTensorDataAsSpan<float>().CopyTo(destination); break;
            case TensorElementType.Float16: HalfToFloat(value.GetTensorDataAsSpan<Float16>(), destination); break;
            default: throw new NotSupportedException($"Expected a float32 or float16 tensor, not {value.GetTensorTypeAndShape().ElementDataType}.");
        }
    }

    /// <summary>float32 to float16 (round to nearest even, vectorised).</summary>
    public static Float16[] ToHalf(ReadOnlySpan<float> data)
    {
        var result = new Float16[data.Length];
        FloatToHalf(data, result);
        return result;
    }

    public static void FloatToHalf(ReadOnlySpan<float> source, Span<Float16> destination) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(source, System.Runtime.InteropServices.MemoryMarshal.Cast<Float16, Half>(destination));

    public static void HalfToFloat(ReadOnlySpan<Float16> source, Span<float> destination) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(System.Runtime.InteropServices.MemoryMarshal.Cast<Float16, Half>(source), destination);

    private static double[] ToDouble(ReadOnlySpan<float> data)
    {
        var result = new double[data.Length];
        for (var i = 0; i < data.Length; i++) result[i] = data[i];
        return result;
    }

    public static long[] Shape(OrtValue value) => value.GetTensorTypeAndShape().Shape;

    private static int[] ToInt32(ReadOnlySpan<long> ids)
    {
        var result = new int[ids.Length];
        for (var i = 0; i < ids.Length; i++) result[i] = checked((int)ids[i]);
        return result;
    }
}
