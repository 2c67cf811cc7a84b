namespace MultimodalHub.Inference.Runtime;

/// <summary>
/// One run of a freshly loaded model on a tiny input, done by <see cref="LoadedModels"/> right after the load (when
/// Inference:WarmUp is on), so that the first request does not pay for ONNX Runtime's first-run work (allocating
/// buffers, planning memory, cuDNN's algorithm search on a GPU). Each engine registers one for its model type.
/// </summary>
public interface IWarmUp
{
    /// <summary>The loaded-model class this warms up (ChatModel, ClipModel, ...).</summary>
    Type ModelType { get; }

    void Run(object model, CancellationToken ct);
}

/// <summary>An <see cref="IWarmUp"/> for one model type.</summary>
public abstract class WarmUp<TModel> : IWarmUp where TModel : class
{
    public Type ModelType => typeof(TModel);

    public void Run(object model, CancellationToken ct) => Run((TModel)model, ct);

    protected abstract void Run(TModel model, CancellationToken ct);
}
