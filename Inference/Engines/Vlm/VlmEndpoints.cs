using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>POST /v1/caption and POST /v1/vqa (JSON, or SSE with "stream": true).</summary>
public static class VlmEndpoints
{
    public static IEndpointRouteBuilder MapVlm(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/caption", Caption).WithTags("vlm")
            .Produces<VlmResponse>().Produces(StatusCodes.Status200OK, contentType: "text/event-stream").ProducesProblem(400).ProducesProblem(404);
        app.MapPost("/v1/vqa", Vqa).WithTags("vlm")
            .Produces<VlmResponse>().Produces(StatusCodes.Status200OK, contentType: "text/event-stream").ProducesProblem(400).ProducesProblem(404);
        return app;
    }

    internal static async Task<IResult> Caption(CaptionRequest request, HttpContext http, VlmEngine engine, IOptions<ImageLimits> limits)
    {
        if (request is null) throw new InvalidRequestException("body", "A JSON body is required.");
        var image = VlmPreprocess.Decode(request.Image, limits.Value, "image");
        var prompt = request.Prompt is null ? engine.Options.CaptionPrompt : request.Prompt.Trim();
        if (prompt.Length == 0) throw new InvalidRequestException("prompt", "prompt must not be empty.");
        var sampling = Sampling(request);
        var job = new VlmJob(request.Model, VlmEngine.CaptionMessages(prompt), [image], sampling, request.NumBeams ?? 1, request.LengthPenalty ?? 1.0);
        return await Run(http, engine, job, request.Stream == true);
    }

    internal static async Task<IResult> Vqa(VqaRequest request, HttpContext http, VlmEngine engine, IOptions<ImageLimits> limits)
    {
        if (request is null) throw new InvalidRequestException("body", "A JSON body is required.");
        if (string.IsNullOrWhiteSpace(request.Question)) throw new InvalidRequestException("question", "question must not be empty.");
        var history = request.History ?? [];
        for (var i = 0; i < history.Count; i++)
        {
            if (history[i] is null || string.IsNullOrWhiteSpace(history[i].Question)) throw new InvalidRequestException($"history[{i}].question", "question must not be empty.");
            if (history[i].Answer is null) throw new InvalidRequestException($"history[{i}].answer", "answer is required.");
        }
        var image = VlmPreprocess.Decode(request.Image, limits.Value, "image");
        var sampling = Sampling(request);
        var job = new VlmJob(request.Model, VlmEngine.VqaMessages(request.Question.Trim(), history, request.System), [image], sampling);
        return await Run(http, engine, job, request.Stream == true);
    }

    private static SamplingRequest Sampling(VlmRequest r) =>
        new(r.Temperature, r.TopP, r.TopK, r.MinP, r.RepetitionPenalty, MaxNewTokens: r.MaxTokens, Seed: r.Seed);

    private static async Task<IResult> Run(HttpContext http, VlmEngine engine, VlmJob job, bool stream)
    {
        var ct = http.RequestAborted;
        using var prepared = await engine.PrepareAsync(job, ct);
        if (!stream)
        {
            var (summary, key) = await engine.RunAsync(prepared, null, ct);
            var c = summary.Choices[0];
            return TypedResults.Ok(new VlmResponse(summary.Model, c.Text, c.FinishReason, summary.Usage, summary.ApiTimings, key));
        }
        // The queue is entered before the response starts, so a full queue is a 429 for streaming requests too.
        using var slot = await engine.EnterAsync(prepared, ct);
        return await SseResponse.RunAsync(http, prepared.Model.Id, "vlm", async (sse, token) =>
        {
            var (summary, _) = await engine.RunAsync(prepared, (d, t) => sse.WriteAsync(new VlmStreamEvent(d.Text), t), token, slot);
            var c = summary.Choices[0];
            await sse.WriteAsync(new VlmStreamEvent(null, true, c.Text, c.FinishReason, summary.Usage, summary.ApiTimings, summary.Model), token);
        });
    }
}
