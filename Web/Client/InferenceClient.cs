using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MultimodalHub.Contracts;

namespace MultimodalHub.Web.Client;

/// <summary>Configuration section "Inference" of the web app.</summary>
public sealed class InferenceClientOptions
{
    public const string Section = "Inference";

    /// <summary>Where the inference service listens.</summary>
    public Uri BaseUrl { get; set; } = new("http://127.0.0.1:5081");

    /// <summary>Timeout of short reads (health, model list) per attempt.</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Timeout of one whole non-streaming inference call (classify, generations).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>What the Home page can ask of a model.</summary>
public enum ModelAction { Load, Unload, Pin, Unpin }

/// <summary>The inference service could not be reached (connection refused, DNS, timeout, dropped connection).</summary>
public sealed class InferenceUnavailableException(string baseUrl, string reason, Exception? inner = null)
    : Exception($"The inference service at {baseUrl} is unreachable: {reason}", inner)
{
    public string BaseUrl { get; } = baseUrl;
    public string Reason { get; } = reason;
}

/// <summary>The inference service answered with an error (problem details): a readable message and the field at fault.</summary>
public sealed class InferenceProblemException(HttpStatusCode status, string title, string detail, string? field)
    : Exception(detail.Length > 0 ? detail : title)
{
    public HttpStatusCode Status { get; } = status;
    public string Title { get; } = title;
    public string Detail { get; } = detail;
    public string? Field { get; } = field;
}

/// <summary>
/// Typed client of the inference service's HTTP API. Reads (GET) are retried by the resilience pipeline
/// configured in Program; POSTs are not (inference is not idempotent and may be expensive).
/// Every call throws <see cref="InferenceUnavailableException"/> when the service cannot be reached and
/// <see cref="InferenceProblemException"/> when it rejects the request.
/// </summary>
public sealed class InferenceClient(HttpClient http, Microsoft.Extensions.Options.IOptions<InferenceClientOptions>? options = null)
{
    private readonly TimeSpan _readTimeout = options?.Value.ReadTimeout ?? TimeSpan.FromSeconds(5);

    public static readonly JsonSerializerOptions Json = HubJson.Create();

    public Uri? BaseAddress => http.BaseAddress;

    public Task<ModelList> ListModelsAsync(CancellationToken ct = default) =>
        GetAsync<ModelList>("v1/models", ct);

    /// <summary>GET /readyz; a 503 with a report is a valid answer (not ready, with reasons).</summary>
    public async Task<ReadinessReport> GetReadinessAsync(CancellationToken ct = default)
    {
        using var timeout = ReadTimeout(ct);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "readyz"), HttpCompletionOption.ResponseContentRead, timeout.Token, ct);
        if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable)
        {
            var report = await ReadJsonAsync<ReadinessReport>(response, ct);
            if (report is not null) return report;
        }
        await ThrowProblemAsync(response, ct);
        throw new System.Diagnostics.UnreachableException();
    }

    /// <summary>POST /v1/models/{id}/{action}: "load", "unload", "pin" (loads too) or "unpin"; the model's entry afterwards.</summary>
    public Task<ModelInfo> ManageModelAsync(string id, ModelAction action, CancellationToken ct = default) =>
        SendJsonAsync<ModelInfo>(() => new HttpRequestMessage(HttpMethod.Post, $"v1/models/{Uri.EscapeDataString(id)}/{action.ToString().ToLowerInvariant()}"), ct);

    public Task<SchedulerList> ListSchedulersAsync(CancellationToken ct = default) =>
        GetAsync<SchedulerList>("v1/schedulers", ct);

    /// <summary>POST any JSON body and read the JSON answer.</summary>
    public Task<TResponse> PostJsonAsync<TRequest, TResponse>(string path, TRequest body, CancellationToken ct = default) =>
        SendJsonAsync<TResponse>(() => new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body, options: Json) }, ct);

    /// <summary>POST a multipart form and read the JSON answer.</summary>
    public Task<TResponse> PostMultipartAsync<TResponse>(string path, Func<MultipartFormDataContent> form, CancellationToken ct = default) =>
        SendJsonAsync<TResponse>(() => new HttpRequestMessage(HttpMethod.Post, path) { Content = form() }, ct);

    public Task<ImageJobInfo> CreateImageJobAsync(ImageGenerationRequest request, CancellationToken ct = default) =>
        PostJsonAsync<ImageGenerationRequest, ImageJobInfo>("v1/images/jobs", request, ct);

    public Task<ImageJobInfo> GetImageJobAsync(string id, CancellationToken ct = default) =>
        GetAsync<ImageJobInfo>($"v1/images/jobs/{Uri.EscapeDataString(id)}", ct);

    public async Task CancelImageJobAsync(string id, CancellationToken ct = default)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, $"v1/images/jobs/{Uri.EscapeDataString(id)}"), HttpCompletionOption.ResponseContentRead, ct);
        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound) await ThrowProblemAsync(response, ct);
    }

    /// <summary>GET /v1/images/jobs/{id}/events as (event type, JSON data) pairs until the stream ends.</summary>
    public IAsyncEnumerable<SseItem<string>> ImageJobEventsAsync(string id, CancellationToken ct = default) =>
        StreamSseAsync(() => new HttpRequestMessage(HttpMethod.Get, $"v1/images/jobs/{Uri.EscapeDataString(id)}/events"), ct);

    /// <summary>Streamed chat completion: the chunks, ending at [DONE].</summary>
    public async IAsyncEnumerable<ChatCompletionChunk> StreamChatAsync(ChatCompletionRequest request, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var body = request with { Stream = true, StreamOptions = new StreamOptions(true) };
        await foreach (var item in StreamSseAsync(() => new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = JsonContent.Create(body, options: Json) }, ct))
        {
            if (item.Data == "[DONE]") yield break;
            var chunk = JsonSerializer.Deserialize<ChatCompletionChunk>(item.Data, Json);
            if (chunk is not null) yield return chunk;
        }
    }

    /// <summary>Streamed caption (POST /v1/caption) or answer (POST /v1/vqa): deltas, then the final event.</summary>
    public async IAsyncEnumerable<VlmStreamEvent> StreamVlmAsync<TRequest>(string path, TRequest request, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var item in StreamSseAsync(() => new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(request, options: Json) }, ct))
        {
            if (item.Data == "[DONE]") yield break;
            var ev = JsonSerializer.Deserialize<VlmStreamEvent>(item.Data, Json);
            if (ev is not null) yield return ev;
        }
    }

    private async IAsyncEnumerable<SseItem<string>> StreamSseAsync(Func<HttpRequestMessage> create, [EnumeratorCancellation] CancellationToken ct)
    {
        using var response = await SendAsync(() =>
        {
            var request = create();
            request.Headers.Accept.ParseAdd("text/event-stream");
            return request;
        }, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode) await ThrowProblemAsync(response, ct);
        Stream stream;
        try { stream = await response.Content.ReadAsStreamAsync(ct); }
        catch (HttpRequestException e) { throw Unavailable(e); }
        await using var _ = stream;
        var items = SseParser.Create(stream).EnumerateAsync(ct).GetAsyncEnumerator(ct);
        try
        {
            while (true)
            {
                bool more;
                try { more = await items.MoveNextAsync(); }
                catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
                {
                    throw Unavailable(e, "the connection dropped while streaming");
                }
                if (!more) yield break;
                yield return items.Current;
            }
        }
        finally { await items.DisposeAsync(); }
    }

    private CancellationTokenSource ReadTimeout(CancellationToken ct)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(_readTimeout);
        return cts;
    }

    private async Task<T> GetAsync<T>(string path, CancellationToken ct)
    {
        using var timeout = ReadTimeout(ct);
        return await SendJsonAsync<T>(() => new HttpRequestMessage(HttpMethod.Get, path), timeout.Token, ct);
    }

    private async Task<T> SendJsonAsync<T>(Func<HttpRequestMessage> create, CancellationToken ct, CancellationToken callerCt = default)
    {
        using var response = await SendAsync(create, HttpCompletionOption.ResponseContentRead, ct, callerCt);
        if (!response.IsSuccessStatusCode) await ThrowProblemAsync(response, ct);
        return await ReadJsonAsync<T>(response, ct)
            ?? throw new InferenceProblemException(response.StatusCode, "Empty answer", "The inference service sent an empty answer.", null);
    }

    /// <param name="ct">Token for the send (may include a read timeout).</param>
    /// <param name="callerCt">The caller's own token: its cancellation is a cancellation, any other one a timeout.</param>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, HttpCompletionOption completion, CancellationToken ct, CancellationToken callerCt = default)
    {
        if (callerCt == default) callerCt = ct;
        using var request = create();
        try
        {
            return await http.SendAsync(request, completion, ct);
        }
        catch (HttpRequestException e) { throw Unavailable(e); }
        catch (Polly.Timeout.TimeoutRejectedException e) { throw Unavailable(e, "it did not answer in time"); }
        catch (OperationCanceledException e) when (!callerCt.IsCancellationRequested) { throw Unavailable(e, "it did not answer in time"); }
        catch (Polly.CircuitBreaker.BrokenCircuitException e) { throw Unavailable(e, "it failed repeatedly; retrying shortly"); }
    }

    private InferenceUnavailableException Unavailable(Exception e, string? reason = null) =>
        new(http.BaseAddress?.ToString() ?? "(no base address)", reason ?? Describe(e), e);

    private static string Describe(Exception e) => e switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => "connection refused",
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => "host name not found",
        HttpRequestException { InnerException: { } inner } => inner.Message,
        _ => e.Message,
    };

    private static async Task<T?> ReadJsonAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        try { return await response.Content.ReadFromJsonAsync<T>(Json, ct); }
        catch (JsonException e)
        {
            throw new InferenceProblemException(response.StatusCode, "Unreadable answer", $"The inference service sent an answer this app cannot read: {e.Message}", null);
        }
    }

    private static async Task ThrowProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        string title = response.ReasonPhrase ?? response.StatusCode.ToString(), detail = "", field = "";
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (text.Length > 0 && text.TrimStart().StartsWith('{'))
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                if (root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String) title = t.GetString()!;
                if (root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String) detail = d.GetString()!;
                if (root.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String) field = f.GetString()!;
                if (root.TryGetProperty("error", out var err) && err.ValueKind == JsonValueKind.Object
                    && err.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) detail = m.GetString()!;
            }
            else if (text.Length > 0) detail = text.Length > 500 ? text[..500] : text;
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException) { }
        if (response.StatusCode == HttpStatusCode.TooManyRequests && detail.Length == 0)
            detail = "The model is busy (queue full). Try again in a moment.";
        throw new InferenceProblemException(response.StatusCode, title, detail, field.Length > 0 ? field : null);
    }
}

