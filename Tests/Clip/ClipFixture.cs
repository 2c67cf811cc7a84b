using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Clip;

/// <summary>The bundled clip-shapes model loaded once (real ONNX sessions, tokenizer, processor) for a test class.</summary>
public sealed class ClipFixture : IDisposable
{
    public ClipModel Model { get; }

    public ClipFixture()
    {
        var sessions = new OrtSessionFactory(Options.Create(new InferenceOptions { IntraOpThreads = 2, UseCuda = false }), NullLogger<OrtSessionFactory>.Instance);
        Model = ClipModel.Load(ModelRegistry.Describe(Repo.Model("clip-shapes")), sessions, new ClipOptions(), NullLogger.Instance);
    }

    public void Dispose() => Model.Dispose();
}
