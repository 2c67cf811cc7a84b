using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Chat;

/// <summary>shapes-chat goldens/conversations.json, parsed once for every chat test class.</summary>
public static class ChatGoldens
{
    public static IEnumerable<JsonElement> Conversations { get; } =
        [.. Goldens.Load("shapes-chat", "conversations.json").GetProperty("conversations").EnumerateArray()];

    public static JsonElement Conversation(string name) => Conversations.First(c => c.GetProperty("name").GetString() == name);

    /// <summary>The conversations the engine and generation-loop theories run.</summary>
    public static TheoryData<string> Names => new()
    {
        "single_prompt_no_system", "single_mix_with_system", "multi_turn_make_it_blue", "single_count", "single_off_topic", "multi_turn_with_system",
    };
}

/// <summary>The shapes-chat decoder session, loaded once per test class, with the shared conversation goldens.</summary>
public sealed class ChatModelFixture : IDisposable
{
    public ChatModelFixture()
    {
        var dir = Repo.Model("shapes-chat");
        using var so = new SessionOptions { IntraOpNumThreads = 1 };
        Session = new InferenceSession(Path.Combine(dir, "onnx", "model.onnx"), so);
        Spec = DecoderSpec.From(Session, Path.Combine(dir, "config.json"));
        Runner = new DecoderRunner(Session, Spec);
        BoundRunner = new DecoderRunner(Session, Spec, kvIoBinding: true);
        Defaults = GenerationDefaults.Load(dir);
    }

    public InferenceSession Session { get; }
    public DecoderSpec Spec { get; }
    public DecoderRunner Runner { get; }

    /// <summary>The same session through IO binding (Inference:KvIoBinding): the cache stays in the session's memory between steps.</summary>
    public DecoderRunner BoundRunner { get; }
    public GenerationDefaults Defaults { get; }

    /// <summary>Ids the tokenizer can produce (tokenizer.json's vocab + added tokens).</summary>
    public int TokenizerVocab { get; } = CountVocab(Repo.Model("shapes-chat", "tokenizer.json"));

    public IEnumerable<JsonElement> Conversations => ChatGoldens.Conversations;

    public JsonElement Conversation(string name) => ChatGoldens.Conversation(name);

    public static int[] Ints(JsonElement e) => e.Ints();

    public GenerationOutput Greedy(IReadOnlyList<IReadOnlyList<int>> prompts, int maxNew, bool useCache = true, bool ioBinding = false, bool keepCache = false)
    {
        var pad = Defaults.PadId ?? 0;
        var (ids, mask, _) = GenerationLoop.LeftPad(prompts, pad);
        var samplers = prompts.Select(_ => new TokenSampler(SamplingOptions.GreedyDefault(maxNew), TokenizerVocab)).ToArray();
        var settings = new GenerationSettings(samplers, Defaults.EosIds.ToHashSet(), maxNew, pad, useCache, keepCache);
        return GenerationLoop.Run(ioBinding ? BoundRunner : Runner, new GenerationInput(StepInput.OfIds(ids, prompts.Count), mask, prompts), settings,
            next => StepInput.OfIds(next, prompts.Count), null, CancellationToken.None);
    }

    private static int CountVocab(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var ids = doc.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().Select(p => p.Value.GetInt32()).ToList();
        ids.AddRange(doc.RootElement.GetProperty("added_tokens").EnumerateArray().Select(t => t.GetProperty("id").GetInt32()));
        return ids.Max() + 1;
    }

    public void Dispose()
    {
        Runner.Dispose();
        BoundRunner.Dispose();
        Session.Dispose();
    }
}
