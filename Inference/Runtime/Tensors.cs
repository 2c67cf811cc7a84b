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

    /// <summary>Float data as the floating-point type the session declares for that input (float32, float16 or bfloat16).</summary>
    public static OrtValue FloatInput(InferenceSession session, string inputName, float[] data, params long[] shape) =>
        Floats(session.InputMetadata[inputName].ElementDataType, data, shape, inputName);

    /// <summary>Float data as a tensor of <paramref name="type"/> (float32 wraps the array; the others convert into a new one).</summary>
    public static OrtValue Floats(TensorElementType type, float[] data, long[] shape, string name = "tensor")
    {
        ArgumentNullException.ThrowIfNull(data);
        switch (type)
        {
            case TensorElementType.Float:
                return OrtValue.CreateTensorValueFromMemory(data, shape);
            case TensorElementType.Float16:
                var half = new Float16[data.Length];
                TensorPrimitives.ConvertToHalf(data, MemoryMarshal.Cast<Float16, Half>(half.AsSpan()));
                return OrtValue.CreateTensorValueFromMemory(half, shape);
            case TensorElementType.BFloat16:
                var bf = new BFloat16[data.Length];
                var bits = MemoryMarshal.Cast<BFloat16, ushort>(bf.AsSpan());
                for (var i = 0; i < data.Length; i++) bits[i] = ToBFloat16Bits(data[i]);
                return OrtValue.CreateTensorValueFromMemory(bf, shape);
            default:
                throw new NotSupportedException($"'{name}' has element type {type}; expected float32, float16 or bfloat16.");
        }
    }

    /// <summary>Whether ONNX Runtime tensors of this type are read and written as floats here.</summary>
    public static bool IsFloating(TensorElementType type) => type is TensorElementType.Float or TensorElementType.Float16 or TensorElementType.BFloat16;

    /// <summary>The whole tensor as float32 (float32, float16, bfloat16 or double tensors).</summary>
    public static float[] ToFloats(OrtValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var info = value.GetTensorTypeAndShape();
        var result = new float[checked((int)info.ElementCount)];
        ReadFloats(value, 0, result);
        return result;
    }

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
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(value.GetTensorDataAsSpan<Float16>()).Slice(start, destination.Length), destination);
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

    /// <summary>A new tensor of the same element type holding a copy of <paramref name="value"/>'s bytes rearranged by <paramref name="copy"/> (source bytes, destination bytes, element size).</summary>
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

    /// <summary>float32 → bfloat16 bits, rounding to nearest even (NaN stays NaN).</summary>
    private static ushort ToBFloat16Bits(float f)
    {
        var bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    private static int[] ToInt32(ReadOnlySpan<long> ids)
    {
        var result = new int[ids.Length];
        for (var i = 0; i < ids.Length; i++) result[i] = checked((int)ids[i]);
        return result;
    }
}
