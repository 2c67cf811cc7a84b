namespace MultimodalHub.Inference.Runtime;

/// <summary>Bad input from a caller: becomes HTTP 400 problem details naming <see cref="Field"/>, or a CLI error.</summary>
public class InvalidRequestException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>A named model that is not installed: HTTP 404 problem details.</summary>
public sealed class ModelNotFoundException(string field, string message) : InvalidRequestException(field, message);

/// <summary>A bounded queue is full: HTTP 429 with Retry-After.</summary>
public sealed class QueueFullException(string queue, TimeSpan retryAfter)
    : Exception($"The {queue} queue is full; retry in {Math.Ceiling(retryAfter.TotalSeconds)} s.")
{
    public string Queue { get; } = queue;
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>An installed model that could not be loaded (corrupt or incompatible files): HTTP 503 problem details naming it.</summary>
public sealed class ModelLoadException(string modelId, string message, Exception? inner = null) : Exception(message, inner)
{
    public string ModelId { get; } = modelId;
}
