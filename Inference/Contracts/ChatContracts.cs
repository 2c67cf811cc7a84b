using System.Text.Json;
using System.Text.Json.Serialization;

namespace MultimodalHub.Contracts;

// OpenAI-compatible chat/completions API (https://platform.openai.com/docs/api-reference/chat), plus the hub's
// own extensions (top_k, min_p, repetition_penalty, preset, timings). JSON is snake_case (HubJson).

/// <summary>Prompting presets: few-shot examples, step-by-step reasoning, or self-consistency (sample k, majority vote).</summary>
public enum ChatPreset { None, FewShot, StepByStep, SelfConsistency }

/// <summary>
/// The sampling and streaming fields /v1/chat/completions and /v1/completions share (OpenAI's, plus the hub's
/// top_k, min_p, repetition_penalty and ignore_eos).
/// </summary>
public abstract record GenerationRequest
{
    public string? Model { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public double? MinP { get; init; }
    public int? MaxTokens { get; init; }
    /// <summary>A string or an array of strings.</summary>
    [JsonConverter(typeof(StopSequencesConverter))]
    public IReadOnlyList<string>? Stop { get; init; }
    public long? Seed { get; init; }
    public int? N { get; init; }
    public bool? Stream { get; init; }
    public StreamOptions? StreamOptions { get; init; }
    public double? PresencePenalty { get; init; }
    public double? FrequencyPenalty { get; init; }
    public double? RepetitionPenalty { get; init; }
    /// <summary>Hub extension (as in vLLM and llama.cpp's server): keep generating past the model's end-of-sequence
    /// ids until max_tokens or a stop sequence.</summary>
    public bool? IgnoreEos { get; init; }
    /// <summary>Hub extension (transformers' name): prompt-lookup speculative decoding with this many draft tokens per round (0 = off).</summary>
    public int? PromptLookupNumTokens { get; init; }
    /// <summary>Hub extension: draft-model speculative decoding with this installed chat model (same tokenizer).</summary>
    public string? DraftModel { get; init; }
    /// <summary>Hub extension (vLLM's name): draft tokens per round for draft_model (default 4).</summary>
    public int? NumSpeculativeTokens { get; init; }
}

/// <summary>POST /v1/chat/completions body.</summary>
public sealed record ChatCompletionRequest : GenerationRequest
{
    public IReadOnlyList<ChatCompletionMessage>? Messages { get; init; }
    /// <summary>OpenAI's newer name for max_tokens; either may be given.</summary>
    public int? MaxCompletionTokens { get; init; }
    /// <summary>Hub extension: a prompting preset.</summary>
    public ChatPreset? Preset { get; init; }
    /// <summary>Hub extension: samples drawn for the self-consistency preset (default 5).</summary>
    public int? SelfConsistencySamples { get; init; }
    /// <summary>Ignored OpenAI field kept so that clients sending it are accepted.</summary>
    public string? User { get; init; }
    /// <summary>Return each answer token's log-probability (choices[].logprobs.content).</summary>
    public bool? Logprobs { get; init; }
    /// <summary>0 to 20 most likely alternatives per token position; needs logprobs true.</summary>
    public int? TopLogprobs { get; init; }
    /// <summary>{"type":"text"}, {"type":"json_object"} or {"type":"json_schema","json_schema":{"name":...,"schema":{...},"strict":true}}.</summary>
    public ResponseFormat? ResponseFormat { get; init; }
}

/// <summary>OpenAI's response_format: the answer as free text, any JSON object, or JSON that fits a schema (enforced while decoding).</summary>
public sealed record ResponseFormat(string? Type, JsonSchemaFormat? JsonSchema = null);

/// <summary>response_format.json_schema: a name, the schema, and OpenAI's strict flag (accepted; the schema is always enforced).</summary>
public sealed record JsonSchemaFormat(string? Name, JsonElement? Schema, bool? Strict = null, string? Description = null);

public sealed record StreamOptions(bool? IncludeUsage);

/// <summary>A message; content is a string or a list of parts (text / image_url).</summary>
public sealed record ChatCompletionMessage(string? Role, [property: JsonConverter(typeof(ChatContentConverter))] ChatContent? Content, string? Name = null);

/// <summary>Message content: plain text, or OpenAI content parts.</summary>
public sealed record ChatContent(string? Text, IReadOnlyList<ChatContentPart>? Parts)
{
    public static ChatContent Of(string text) => new(text, null);
}

/// <summary>{"type":"text","text":...} or {"type":"image_url","image_url":{"url":"data:image/png;base64,..."}}.</summary>
public sealed record ChatContentPart(string Type, string? Text = null, ImageUrlPart? ImageUrl = null);

public sealed record ImageUrlPart(string Url, string? Detail = null);

/// <summary>Non-streaming response (object "chat.completion").</summary>
public sealed record ChatCompletionResponse(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, CompletionUsage Usage,
    GenerationTimings Timings, string? SystemFingerprint = null, ContextNote? Context = null);

/// <summary>One answer. Votes is set for the self-consistency preset (answer → count of the k samples); logprobs when asked for (else null, as OpenAI).</summary>
public sealed record ChatChoice(int Index, AssistantMessage Message, string FinishReason, IReadOnlyDictionary<string, int>? Votes = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ChatLogprobs? Logprobs = null);

/// <summary>choices[].logprobs of a chat completion (and of a chunk): one entry per answer token.</summary>
public sealed record ChatLogprobs(IReadOnlyList<ChatTokenLogprob> Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] IReadOnlyList<ChatTokenLogprob>? Refusal = null);

/// <summary>A token as text (invalid UTF-8 of a partial character shown as U+FFFD), its log-probability, its UTF-8 bytes, and the most likely alternatives.</summary>
public sealed record ChatTokenLogprob(string Token, double Logprob,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] IReadOnlyList<int>? Bytes, IReadOnlyList<ChatTopLogprob> TopLogprobs);

public sealed record ChatTopLogprob(string Token, double Logprob, [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] IReadOnlyList<int>? Bytes);

public sealed record AssistantMessage(string Role, string Content);

public sealed record CompletionUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary>Per-answer timings as Ollama reports them; with speculative decoding, the draft tokens proposed and accepted.</summary>
public sealed record GenerationTimings(
    int PromptTokens, int GeneratedTokens, double PrefillMs, double DecodeMs, double DecodeTokensPerSecond,
    double TimeToFirstTokenMs, double TotalMs, int CachedTokens = 0, int? DraftTokens = null, int? AcceptedDraftTokens = null);

/// <summary>Set when the conversation did not fit the context window and the oldest turns were dropped.</summary>
public sealed record ContextNote(bool Trimmed, int DroppedMessages, int ContextWindow, string Message);

/// <summary>One SSE event of a streamed chat completion (object "chat.completion.chunk").</summary>
public sealed record ChatCompletionChunk(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChunkChoice> Choices,
    CompletionUsage? Usage = null, GenerationTimings? Timings = null, string? SystemFingerprint = null, ContextNote? Context = null);

public sealed record ChunkChoice(
    int Index, ChunkDelta Delta,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ChatLogprobs? Logprobs = null);

public sealed record ChunkDelta(string? Role = null, string? Content = null);

/// <summary>POST /v1/completions body (raw prompt, no chat template).</summary>
public sealed record CompletionRequest : GenerationRequest
{
    public string? Prompt { get; init; }
    /// <summary>Put the prompt before the completion; with logprobs, the prompt's tokens are scored too (the first has none). With echo, max_tokens may be 0: score only.</summary>
    public bool? Echo { get; init; }
    /// <summary>Return each token's log-probability and this many (0 to 5) most likely alternatives.</summary>
    public int? Logprobs { get; init; }
}

/// <summary>choices[].logprobs of /v1/completions (the legacy shape): parallel lists over the tokens, offsets in characters of the returned text.</summary>
public sealed record CompletionLogprobs(IReadOnlyList<string> Tokens, IReadOnlyList<double?> TokenLogprobs,
    IReadOnlyList<IReadOnlyDictionary<string, double>?> TopLogprobs, IReadOnlyList<int> TextOffset);

/// <summary>Non-streaming (object "text_completion") and streaming responses of /v1/completions.</summary>
public sealed record TextCompletionResponse(
    string Id, string Object, long Created, string Model, IReadOnlyList<TextChoice> Choices,
    CompletionUsage? Usage, GenerationTimings? Timings = null);

public sealed record TextChoice(
    int Index, string Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] CompletionLogprobs? Logprobs = null);

/// <summary>`stop`: a string or an array of strings (OpenAI accepts both).</summary>
public sealed class StopSequencesConverter : JsonConverter<IReadOnlyList<string>>
{
    public override IReadOnlyList<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return null;
            case JsonTokenType.String: return [reader.GetString()!];
            case JsonTokenType.StartArray:
                var list = new List<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String) throw new JsonException("stop must be a string or an array of strings.");
                    list.Add(reader.GetString()!);
                }
                return list;
            default: throw new JsonException("stop must be a string or an array of strings.");
        }
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var s in value) writer.WriteStringValue(s);
        writer.WriteEndArray();
    }
}

/// <summary>Message content: a JSON string or an array of content parts.</summary>
public sealed class ChatContentConverter : JsonConverter<ChatContent>
{
    public override ChatContent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return null;
            case JsonTokenType.String: return new ChatContent(reader.GetString(), null);
            case JsonTokenType.StartArray:
                var parts = JsonSerializer.Deserialize<List<ChatContentPart>>(ref reader, options) ?? [];
                return new ChatContent(null, parts);
            default: throw new JsonException("content must be a string or an array of content parts.");
        }
    }

    public override void Write(Utf8JsonWriter writer, ChatContent value, JsonSerializerOptions options)
    {
        if (value.Parts is null) writer.WriteStringValue(value.Text ?? "");
        else JsonSerializer.Serialize(writer, value.Parts, options);
    }
}
