using System.Collections.Concurrent;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;

namespace MultimodalHub.Inference.Gateway;

/// <summary>Configuration section "Gateway" (`./hub cli gateway --worker URL --worker URL`).</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Base URLs of the inference workers (each an ordinary `serve`).</summary>
    public List<string> Workers { get; set; } = [];

    /// <summary>How often each worker's /readyz and /v1/models are read.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a worker that answered 429 is passed over while another can take the request.</summary>
    public TimeSpan BusyBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest a proxied request may stay silent (image generation and long chats stream for minutes).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Largest request body the gateway buffers (it reads the body to find the model, and to retry it).</summary>
    public long MaxRequestBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How many image jobs' owners (job id → worker) are remembered.</summary>
    public int MaxJobs { get; set; } = 10_000;

    /// <summary>
    /// An API key (`mh_...`, made on the web app's API keys page) the gateway sends on its own requests to the workers
    /// (the /v1/models probe): workers that listen beyond loopback need one on every /v1 route. Proxied requests carry
    /// their caller's key instead.
    /// </summary>
    public string? ApiKey { get; set; }
}

/// <summary>One inference worker as the gateway sees it: ready or not, its models, requests in flight.</summary>
public sealed class Worker(Uri baseUrl)
{
    private int _outstanding;
    private long _served;
    private long _busyUntil;

    public Uri BaseUrl { get; } = baseUrl;
    public string Name => BaseUrl.GetLeftPart(UriPartial.Authority);
    public bool Ready { get; set; }
    public string? Problem { get; set; }
    /// <summary>Model id → kind, from the worker's last /v1/models answer (usable models only).</summary>
    public IReadOnlyDictionary<string, ModelKind> Models { get; set; } = new Dictionary<string, ModelKind>();
    public ModelList? ModelList { get; set; }
    public int Outstanding => Volatile.Read(ref _outstanding);
    public long Served => Interlocked.Read(ref _served);

    public bool Busy(DateTimeOffset now) => now.UtcTicks < Interlocked.Read(ref _busyUntil);
    public void MarkBusy(DateTimeOffset until) => Interlocked.Exchange(ref _busyUntil, until.UtcTicks);
    public void Begin() => Interlocked.Increment(ref _outstanding);

    public void End()
    {
        Interlocked.Decrement(ref _outstanding);
        Interlocked.Increment(ref _served);
    }

    public bool Serves(string? model, ModelKind? kind) =>
        model is not null ? Models.ContainsKey(model) : kind is null || Models.Values.Contains(kind.Value);
}

/// <summary>The workers, the job → worker map, and the choice of a worker for a request.</summary>
public sealed class WorkerPool
{
    private readonly ConcurrentDictionary<string, Worker> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _jobOrder = new();
    private readonly TimeProvider _time;
    private readonly GatewayOptions _options;
    private int _turn;

    public WorkerPool(IOptions<GatewayOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        if (_options.Workers.Count == 0)
            throw new InvalidOperationException("The gateway needs at least one worker: --worker http://host:port (or Gateway:Workers:0).");
        Workers = _options.Workers.Select(w => Uri.TryCreate(w.TrimEnd('/') + "/", UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
            ? new Worker(u)
            : throw new InvalidOperationException($"Gateway worker '{w}' is not an http(s) URL.")).ToList();
    }

    public IReadOnlyList<Worker> Workers { get; }

    /// <summary>
    /// Workers able to take a request for the model (or, without one, for the endpoint's kind), best first: ready ones
    /// that did not just answer 429, by fewest requests in flight, ties taken in turn; then busy ones. Empty when none
    /// is ready and serves it.
    /// </summary>
    public IReadOnlyList<Worker> Candidates(string? model, ModelKind? kind)
    {
        var now = _time.GetUtcNow();
        var turn = Interlocked.Increment(ref _turn);
        var n = Workers.Count;
        return Workers.Select((w, i) => (w, order: ((i - turn) % n + n) % n))
            .Where(x => x.w.Ready && x.w.Serves(model, kind))
            .OrderBy(x => x.w.Busy(now)).ThenBy(x => x.w.Outstanding).ThenBy(x => x.order)
            .Select(x => x.w).ToList();
    }

    /// <summary>Whether any worker (ready or not) listed the model when last asked.</summary>
    public bool AnyKnows(string model) => Workers.Any(w => w.Models.ContainsKey(model));

    public void RememberJob(string id, Worker worker)
    {
        if (_jobs.TryAdd(id, worker))
        {
            _jobOrder.Enqueue(id);
            while (_jobOrder.Count > _options.MaxJobs && _jobOrder.TryDequeue(out var old))
                _jobs.TryRemove(old, out _);
        }
    }

    public Worker? JobOwner(string id) => _jobs.TryGetValue(id, out var w) ? w : null;
}

/// <summary>Reads every worker's /readyz and /v1/models each <see cref="GatewayOptions.ProbeInterval"/>.</summary>
public sealed partial class WorkerProbe(WorkerPool pool, IHttpClientFactory clients, IOptions<GatewayOptions> options, GatewayMetrics metrics, ILogger<WorkerProbe> logger) : BackgroundService
{
    public const string Client = "gateway-probe";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ProbeInterval);
        do
        {
            await Task.WhenAll(pool.Workers.Select(w => ProbeAsync(w, stoppingToken)));
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task ProbeAsync(Worker worker, CancellationToken ct)
    {
        var http = clients.CreateClient(Client);
        var was = worker.Ready;
        try
        {
            using var ready = await http.GetAsync(new Uri(worker.BaseUrl, "readyz"), ct);
            using var models = new HttpRequestMessage(HttpMethod.Get, new Uri(worker.BaseUrl, "v1/models"));
            if (options.Value.ApiKey is { Length: > 0 } key)
                models.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            using var answer = await http.SendAsync(models, ct);
            if (answer.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
                throw new HttpRequestException($"/v1/models answered {(int)answer.StatusCode}: the worker needs an API key (set Gateway:ApiKey)");
            answer.EnsureSuccessStatusCode();
            var list = await answer.Content.ReadFromJsonAsync<ModelList>(HubJson.Create(), ct);
            worker.ModelList = list;
            worker.Models = (list?.Data ?? []).Where(m => m.Status == ModelStatus.Ready).ToDictionary(m => m.Id, m => m.Kind, StringComparer.Ordinal);
            worker.Ready = ready.IsSuccessStatusCode;
            worker.Problem = ready.IsSuccessStatusCode ? null : $"/readyz answered {(int)ready.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            worker.Ready = false;
            worker.Problem = e.Message;
        }
        metrics.WorkerReady(worker);
        if (was != worker.Ready)
            LogChanged(worker.Name, worker.Ready ? "ready" : "not ready", worker.Problem);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Worker} is {State} ({Problem})")]
    private partial void LogChanged(string worker, string state, string? problem);
}
