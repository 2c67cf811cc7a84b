using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MultimodalHub.Inference.Runtime;

/// <summary>Copies (part of) a tensor's bytes into another's; elementSize is the bytes per element.</summary>
public delegate void ByteCopy(ReadOnlySpan<byte> source, Span<byte> destination, int elementSize);

/// <summary>
/// Small helpers around <see cref="OrtValue"/>: the callers own (and dispose) every value returned. Floating-point
/// tensors are fed in the element type the session declares (float32, or float16 / bfloat16 in fp16 exports) and read
/// back as float32 whatever their type, so engines work in float32 over every variant.
/// </summary>
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

    /// <summary>The whole tensor as float32 (float32, float16, bfloat16 or float64 tensors; fp16 exports return fp16).</summary>
    public static float[] ToFloats(OrtValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new float[checked((int)value.GetTensorTypeAndShape().ElementCount)];
        ReadFloats(value, 0, result);
        return result;
    }

    /// <summary>Float data as a tensor of the element type a session declares (float32, or float16 / bfloat16 in fp16 exports, float64).</summary>
    public static OrtValue FloatAs(TensorElementType type, ReadOnlySpan<float> data, params long[] shape) => type switch
    {
        TensorElementType.Float => Float(data.ToArray(), shape),
        TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(ToHalf(data), shape),
        TensorElementType.BFloat16 => OrtValue.CreateTensorValueFromMemory(ToBFloat16(data), shape),
        TensorElementType.Double => OrtValue.CreateTensorValueFromMemory(ToDouble(data), shape),
        _ => throw new NotSupportedException($"Expected a float32, float16, bfloat16 or float64 input, not {type}."),
    };

    /// <summary><see cref="FloatAs(TensorElementType, ReadOnlySpan{float}, long[])"/> with the type the session declares for the input.</summary>
    public static OrtValue FloatInput(InferenceSession session, string inputName, ReadOnlySpan<float> data, params long[] shape) =>
        FloatAs(session.InputMetadata[inputName].ElementDataType, data, shape);

    /// <summary>As the span overload; a float32 input wraps the array without copying it.</summary>
    public static OrtValue FloatInput(InferenceSession session, string inputName, float[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(session);
        var type = session.InputMetadata[inputName].ElementDataType;
        return type == TensorElementType.Float ? Float(data, shape) : FloatAs(type, data, shape);
    }

    /// <summary>Whether tensors of this type are fed and read as floats here.</summary>
    public static bool IsFloating(TensorElementType type) =>
        type is TensorElementType.Float or TensorElementType.Float16 or TensorElementType.BFloat16 or TensorElementType.Double;

    /// <summary>Writes float data into a float32/float16/float64 tensor's own memory from element <paramref name="offset"/> (a bound, reused input).</summary>
    public static void WriteFloats(OrtValue value, ReadOnlySpan<float> source, int offset = 0)
    {
        ArgumentNullException.ThrowIfNull(value);
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

    /// <summary>Reads a floating-point tensor's data as float32 into <paramref name="destination"/> (a bound, reused output).</summary>
    public static void ReadFloats(OrtValue value, Span<float> destination) => ReadFloats(value, 0, destination);

    /// <summary>Copy <paramref name="destination"/>.Length elements from element <paramref name="start"/> of the tensor, converted to float32.</summary>
    public static void ReadFloats(OrtValue value, int start, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(value);
        var type = value.GetTensorTypeAndShape().ElementDataType;
        switch (type)
        {
            case TensorElementType.Float:
                value.GetTensorDataAsSpan<float>().Slice(start, destination.Length).CopyTo(destination);
                break;
            case TensorElementType.Float16:
                HalfToFloat(value.GetTensorDataAsSpan<Float16>().Slice(start, destination.Length), destination);
                break;
            case TensorElementType.BFloat16:
                var bits = MemoryMarshal.Cast<BFloat16, ushort>(value.GetTensorDataAsSpan<BFloat16>()).Slice(start, destination.Length);
                for (var i = 0; i < bits.Length; i++) destination[i] = BitConverter.UInt32BitsToSingle((uint)bits[i] << 16);
                break;
            case TensorElementType.Double:
                var d = value.GetTensorDataAsSpan<double>().Slice(start, destination.Length);
                for (var i = 0; i < d.Length; i++) destination[i] = (float)d[i];
                break;
            default:
                throw new NotSupportedException($"A tensor of element type {type} cannot be read as floats.");
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
        TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<Float16, Half>(destination));

    public static void HalfToFloat(ReadOnlySpan<Float16> source, Span<float> destination) =>
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(source), destination);

    /// <summary>float32 to bfloat16, rounding to nearest even (NaN stays NaN).</summary>
    public static BFloat16[] ToBFloat16(ReadOnlySpan<float> data)
    {
        var result = new BFloat16[data.Length];
        var bits = MemoryMarshal.Cast<BFloat16, ushort>(result.AsSpan());
        for (var i = 0; i < data.Length; i++)
        {
            var f = BitConverter.SingleToUInt32Bits(data[i]);
            bits[i] = float.IsNaN(data[i]) ? (ushort)((f >> 16) | 0x40) : (ushort)((f + 0x7FFFu + ((f >> 16) & 1)) >> 16);
        }
        return result;
    }

    /// <summary>A new tensor of the same element type holding <paramref name="value"/>'s bytes rearranged by <paramref name="copy"/> (cache reordering and truncation).</summary>
    public static OrtValue Rearranged(OrtValue value, long[] newShape, ByteCopy copy)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(copy);
        var type = value.GetTensorTypeAndShape().ElementDataType;
        var result = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, newShape);
        try
        {
            copy(value.GetTensorMutableRawData(), result.GetTensorMutableRawData(), ElementSize(type));
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>Bytes per element of the numeric tensor types.</summary>
    public static int ElementSize(TensorElementType type) => type switch
    {
        TensorElementType.Float or TensorElementType.Int32 or TensorElementType.UInt32 => 4,
        TensorElementType.Float16 or TensorElementType.BFloat16 or TensorElementType.Int16 or TensorElementType.UInt16 => 2,
        TensorElementType.Double or TensorElementType.Int64 or TensorElementType.UInt64 => 8,
        TensorElementType.Int8 or TensorElementType.UInt8 or TensorElementType.Bool => 1,
        _ => throw new NotSupportedException($"Element type {type} has no fixed size here."),
    };

    public static long[] Shape(OrtValue value) => value.GetTensorTypeAndShape().Shape;

    private static double[] ToDouble(ReadOnlySpan<float> data)
    {
        var result = new double[data.Length];
        for (var i = 0; i < data.Length; i++) result[i] = data[i];
        return result;
    }

    private static int[] ToInt32(ReadOnlySpan<long> ids)
    {
        var result = new int[ids.Length];
        for (var i = 0; i < ids.Length; i++) result[i] = checked((int)ids[i]);
        return result;
    }
}
