using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Constrained;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>A loaded chat LLM: decoder session, its spec, tokenizer, chat template and generation defaults. Shared by all requests.</summary>
public sealed class ChatModel : IDisposable
{
    public ChatModel(ModelDescriptor model, OrtSessionFactory sessions)
    {
        Id = model.Id;
        Tokenizer = TokenizerLoader.Load(model.Directory);
        Template = ChatTemplate.Load(model.Directory);
        Defaults = GenerationDefaults.Load(model.Directory);
        Session = sessions.Create(model.Onnx("onnx/model"));
        try
        {
            Spec = DecoderSpec.From(Session, model.PathOf("config.json"));
            Runner = DecoderRunner.Create(Session, Spec, sessions.KvIoBindingFor(model.Id));
        }
        catch
        {
            Session.Dispose();
            throw;
        }
        _tokenIndex = new Lazy<TokenByteIndex>(() => TokenByteIndex.Build(VocabSize, id => Tokenizer.TokenBytes(id, skipSpecialTokens: true)));
        EosIds = Defaults.EosIds.ToHashSet();
        PadId = Defaults.PadId ?? (Defaults.EosIds.Count > 0 ? Defaults.EosIds[0] : 0);
    }

    public string Id { get; }
    public ITextTokenizer Tokenizer { get; }
    public ChatTemplate Template { get; }
    public GenerationDefaults Defaults { get; }
    public Microsoft.ML.OnnxRuntime.InferenceSession Session { get; }
    public DecoderSpec Spec { get; }
    public DecoderRunner Runner { get; }
    public IReadOnlySet<int> EosIds { get; }
    public int PadId { get; }

    /// <summary>Ids the tokenizer can produce; logits beyond are masked.</summary>
    public int VocabSize => Math.Min(Tokenizer.VocabSize, Spec.LogitsWidth);

    public int ContextWindow => Spec.MaxPositions;

    /// <summary>Every token's bytes and their prefix tree, made on first use (response_format's constrained decoding).</summary>
    public TokenByteIndex TokenIndex => _tokenIndex.Value;

    private readonly Lazy<TokenByteIndex> _tokenIndex;

    public void Dispose()
    {
        Runner.Dispose();
        Session.Dispose();
    }
}
