using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>OpenAI-compatible POST /v1/chat/completions (image parts routed to the VLM) and POST /v1/completions.</summary>
public static class ChatEndpoints
{
    private static readonly string[] Roles = ["system", "user", "assistant"];

    public static IEndpointRouteBuilder MapChat(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", ChatCompletions).WithTags("chat")
            .Produces<ChatCompletionResponse>().Produces(StatusCodes.Status200OK, contentType: "text/event-stream").ProducesProblem(400).ProducesProblem(404);
        app.MapPost("/v1/completions", Completions).WithTags("chat")
            .Produces<TextCompletionResponse>().Produces(StatusCodes.Status200OK, contentType: "text/event-stream").ProducesProblem(400).ProducesProblem(404);
        return app;
    }

    /// <summary>The request's messages as template messages, and the images of image_url parts (in order).</summary>
    public static (List<ChatMessage> Messages, List<RgbImage> Images) ToMessages(IReadOnlyList<ChatCompletionMessage>? messages, ImageLimits limits)
    {
        if (messages is null || messages.Count == 0) throw new InvalidRequestException("messages", "messages must contain at least one message.");
        var result = new List<ChatMessage>();
        var images = new List<RgbImage>();
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i] ?? throw new InvalidRequestException($"messages[{i}]", "A message must be an object.");
            var role = m.Role?.Trim().ToLowerInvariant();
            if (string.IsNullOrEmpty(role) || !Roles.Contains(role))
                throw new InvalidRequestException($"messages[{i}].role", $"role must be one of {string.Join(", ", Roles)}, not '{m.Role}'.");
            if (m.Content is null || (m.Content.Parts is null && string.IsNullOrWhiteSpace(m.Content.Text)) || (m.Content.Parts is { Count: 0 }))
                throw new InvalidRequestException($"messages[{i}].content", "content must not be empty.");
            if (m.Content.Parts is null)
            {
                result.Add(new ChatMessage(role, m.Content.Text!));
                continue;
            }
            var parts = new List<ChatPart>();
            for (var j = 0; j < m.Content.Parts.Count; j++)
            {
                var p = m.Content.Parts[j];
                var field = $"messages[{i}].content[{j}]";
                switch (p?.Type)
                {
                    case "text":
                        if (string.IsNullOrWhiteSpace(p.Text)) throw new InvalidRequestException(field + ".text", "A text part must not be empty.");
                        parts.Add(ChatPart.OfText(p.Text));
                        break;
                    case "image_url":
                        if (role != "user") throw new InvalidRequestException(field, "Only user messages may contain images.");
                        images.Add(VlmPreprocess.Decode(p.ImageUrl?.Url, limits, field + ".image_url.url"));
                        parts.Add(ChatPart.Image());
                        break;
                    default:
                        throw new InvalidRequestException(field + ".type", $"Content part type must be 'text' or 'image_url', not '{p?.Type}'.");
                }
            }
            if (!parts.Any(p => p.Type == "text") && role != "user") throw new InvalidRequestException($"messages[{i}].content", "content must not be empty.");
            result.Add(new ChatMessage(role, string.Join("\n", parts.Where(p => p.Type == "text").Select(p => p.Text)), parts));
        }
        return (result, images);
    }

    internal static async Task<IResult> ChatCompletions(ChatCompletionRequest request, HttpContext http, ChatEngine chat, VlmEngine vlm, ModelRegistry registry,
        Microsoft.Extensions.Options.IOptions<ImageLimits> limits)
    {
        var ct = http.RequestAborted;
        if (request is null) throw new InvalidRequestException("body", "A JSON body is required.");
        var (messages, images) = ToMessages(request.Messages, limits.Value);
        var sampling = ChatSample.From(request);
        var n = request.N ?? 1;
        var stream = request.Stream == true;
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var output = ChatOutput(request);
        var named = string.IsNullOrWhiteSpace(request.Model) ? null : registry.Find(request.Model) ?? throw new ModelNotFoundException("model", $"Unknown model '{request.Model}'. GET /v1/models lists the installed ones.");
        if (images.Count > 0 || named?.Kind == ModelKind.Vlm)
        {
            if (n != 1) throw new InvalidRequestException("n", "n must be 1 for image conversations.");
            if (output?.Json is not null) throw new InvalidRequestException("response_format", "response_format is not available for image conversations.");
            if (output is not null) throw new InvalidRequestException("logprobs", "logprobs are not available for image conversations.");
            var vlmModel = named?.Kind == ModelKind.Vlm ? named.Id : null; // a chat model cannot see images: the default VLM answers
            using var prepared = await vlm.PrepareAsync(new VlmJob(vlmModel, messages, images, sampling), ct);
            return await Respond(http, stream, id, created, prepared.Model.Id, null, request.StreamOptions, null,
                () => vlm.EnterAsync(prepared, ct), async (slot, onDelta) => (await vlm.RunAsync(prepared, onDelta, ct, slot)).Summary, ct);
        }
        using var job = await chat.PrepareAsync(new ChatJob(request.Model, messages, null, sampling, n, request.Preset ?? ChatPreset.None, request.SelfConsistencySamples, output,
            Speculation(request)), ct);
        var tokenizer = job.Model.Tokenizer;
        return await Respond(http, stream, id, created, job.Model.Id, job.Prompt.Context, request.StreamOptions,
            output is null ? null : entries => ChatLogprobShapes.Chat(tokenizer, entries),
            () => chat.EnterAsync(job, ct), (slot, onDelta) => chat.RunAsync(job, onDelta, ct, slot), ct);
    }

    private static SpeculationRequest? Speculation(GenerationRequest r) =>
        r.PromptLookupNumTokens is null && r.DraftModel is null && r.NumSpeculativeTokens is null ? null
            : new SpeculationRequest(r.PromptLookupNumTokens, string.IsNullOrWhiteSpace(r.DraftModel) ? null : r.DraftModel, r.NumSpeculativeTokens);

    /// <summary>logprobs / top_logprobs of a chat request (OpenAI's limits: top_logprobs 0 to 20, only with logprobs true); null when not asked for.</summary>
    private static ChatOutputRequest? ChatOutput(ChatCompletionRequest request)
    {
        if (request.TopLogprobs is { } top)
        {
            if (top is < 0 or > 20) throw new InvalidRequestException("top_logprobs", "top_logprobs must be between 0 and 20.");
            if (request.Logprobs != true) throw new InvalidRequestException("top_logprobs", "top_logprobs needs logprobs set to true.");
        }
        var json = ResponseFormats.Compile(request.ResponseFormat);
        return request.Logprobs == true || json is not null ? new ChatOutputRequest(request.Logprobs == true ? request.TopLogprobs ?? 0 : null, Json: json) : null;
    }

    private static async Task<IResult> Respond(HttpContext http, bool stream, string id, long created, string model, ContextNote? context, StreamOptions? streamOptions,
        Func<IReadOnlyList<TokenLogprob>, ChatLogprobs>? logprobs,
        Func<Task<IDisposable>> enter, Func<IDisposable?, Func<TextDelta, CancellationToken, ValueTask>?, Task<GenerationSummary>> run, CancellationToken ct)
    {
        ChatLogprobs? Logprobs(IReadOnlyList<TokenLogprob>? entries) => logprobs is null ? null : logprobs(entries ?? []);
        if (!stream)
        {
            var summary = await run(null, null);
            var choices = summary.Choices.Select(c => new ChatChoice(c.Index, new AssistantMessage("assistant", c.Text), c.FinishReason, c.Votes, Logprobs(c.Logprobs))).ToList();
            return TypedResults.Ok(new ChatCompletionResponse(id, "chat.completion", created, model, choices, summary.Usage, summary.ApiTimings, null, context));
        }
        // The queue is entered before the response starts, so a full queue is a 429 for streaming requests too.
        using var slot = await enter();
        return await SseResponse.RunAsync(http, model, "chat", async (sse, token) =>
        {
            var started = new HashSet<int>();
            async ValueTask Delta(TextDelta d, CancellationToken t)
            {
                if (started.Add(d.Index))
                    await sse.WriteAsync(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [new ChunkChoice(d.Index, new ChunkDelta(Role: "assistant", Content: ""), null)]), t);
                await sse.WriteAsync(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [new ChunkChoice(d.Index, new ChunkDelta(Content: d.Text), null, Logprobs(d.Logprobs))]), t);
            }
            var summary = await run(slot, Delta);
            foreach (var c in summary.Choices)
            {
                if (started.Add(c.Index))
                    await sse.WriteAsync(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [new ChunkChoice(c.Index, new ChunkDelta(Role: "assistant", Content: ""), null)]), token);
                await sse.WriteAsync(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [new ChunkChoice(c.Index, new ChunkDelta(), c.FinishReason)]), token);
            }
            // Usage (and the hub's timings) in a final chunk with no choices, only when stream_options.include_usage is true, as OpenAI does.
            if (streamOptions?.IncludeUsage == true)
                await sse.WriteAsync(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [], summary.Usage, summary.ApiTimings, null, context), token);
        });
    }

    internal static async Task<IResult> Completions(CompletionRequest request, HttpContext http, ChatEngine chat)
    {
        var ct = http.RequestAborted;
        if (request is null) throw new InvalidRequestException("body", "A JSON body is required.");
        if (string.IsNullOrEmpty(request.Prompt)) throw new InvalidRequestException("prompt", "prompt must not be empty.");
        if (request.Logprobs is < 0 or > 5) throw new InvalidRequestException("logprobs", "logprobs must be between 0 and 5.");
        var n = request.N ?? 1;
        var echoing = request.Echo == true;
        var stream = request.Stream == true;
        // echo with max_tokens 0 scores the prompt without generating (OpenAI's way to get a text's logprobs).
        var scoreOnly = echoing && request.MaxTokens == 0;
        var sampling = ChatSample.From(request);
        if (scoreOnly) sampling = sampling with { MaxNewTokens = 1 };
        var top = request.Logprobs;
        // A stream scores the prompt itself before the first chunk; a plain answer lets the engine do it in the same queue slot.
        var output = top is null && !scoreOnly ? null : new ChatOutputRequest(top, top is not null && echoing && !stream, scoreOnly);
        using var job = await chat.PrepareAsync(new ChatJob(request.Model, null, request.Prompt, sampling, n, Output: output, Speculation: Speculation(request)), ct);
        var id = "cmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var model = job.Model.Id;
        var tokenizer = job.Model.Tokenizer;
        var echo = echoing ? request.Prompt : "";
        var writers = Enumerable.Range(0, n).Select(_ => new CompletionLogprobWriter(tokenizer, 0)).ToArray();
        if (!stream)
        {
            var summary = await chat.RunAsync(job, null, ct);
            return TypedResults.Ok(new TextCompletionResponse(id, "text_completion", created, model,
                summary.Choices.Select(c => new TextChoice(c.Index, echo + c.Text, c.FinishReason, top is null ? null : Join(
                    echoing ? writers[c.Index].Prompt(job.Prompt.Ids, summary.PromptLogprobs ?? []) : null,
                    writers[c.Index].Generated(c.Logprobs ?? [])))).ToList(), summary.Usage, summary.ApiTimings));
        }
        using var slot = await chat.EnterAsync(job, ct);
        return await SseResponse.RunAsync(http, model, "chat", async (sse, token) =>
        {
            if (echoing)
            {
                var scored = top is null ? null : await Task.Run(() => ChatScore.Prompt(job.Model, job.Prompt.Ids, top.Value, token), token);
                for (var i = 0; i < n; i++)
                    await sse.WriteAsync(new TextCompletionResponse(id, "text_completion", created, model,
                        [new TextChoice(i, echo, null, scored is null ? null : writers[i].Prompt(job.Prompt.Ids, scored))], null), token);
            }
            var result = await chat.RunAsync(job, (d, t) => sse.WriteAsync(new TextCompletionResponse(id, "text_completion", created, model,
                [new TextChoice(d.Index, d.Text, null, top is null ? null : writers[d.Index].Generated(d.Logprobs ?? []))], null), t), token, slot);
            foreach (var c in result.Choices)
                await sse.WriteAsync(new TextCompletionResponse(id, "text_completion", created, model, [new TextChoice(c.Index, "", c.FinishReason)], null), token);
            if (request.StreamOptions?.IncludeUsage == true)
                await sse.WriteAsync(new TextCompletionResponse(id, "text_completion", created, model, [], result.Usage, result.ApiTimings), token);
        });
    }

    /// <summary>The prompt's entries (echo) followed by the completion's.</summary>
    private static CompletionLogprobs Join(CompletionLogprobs? first, CompletionLogprobs second) => first is null ? second : new(
        [.. first.Tokens, .. second.Tokens], [.. first.TokenLogprobs, .. second.TokenLogprobs], [.. first.TopLogprobs, .. second.TopLogprobs], [.. first.TextOffset, .. second.TextOffset]);
}
