using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using MultimodalHub.Contracts;
using Prometheus;

namespace MultimodalHub.Inference.Gateway;

/// <summary>
/// The gateway (`./hub cli gateway --worker URL ...`): one /v1 in front of several inference workers, each an ordinary
/// `serve`. Its own /healthz, /readyz (ready while one worker is), /metrics, GET /v1/models (the union of the workers'
/// models), GET /v1/images/jobs (every ready worker's jobs, merged: <see cref="GatewayJobList"/>) and
/// GET /v1/gateway/workers (what it knows of each worker); every other /v1 request goes to a worker through
/// <see cref="GatewayProxy"/>.
/// </summary>
public static class GatewayHost
{
    public static WebApplication Build(string[] args, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (settings is not null)
            builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddOptions<GatewayOptions>().Bind(builder.Configuration.GetSection(GatewayOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<WorkerPool>();
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddSingleton<GatewayProxy>();
        builder.Services.AddHttpForwarder();
        builder.Services.AddHttpClient(WorkerProbe.Client, c => c.Timeout = TimeSpan.FromSeconds(5));
        builder.Services.AddSingleton<WorkerProbe>();
        builder.Services.AddHttpClient(GatewayJobList.Client, c => c.Timeout = TimeSpan.FromSeconds(30));
        builder.Services.AddSingleton<GatewayJobList>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkerProbe>());
        builder.Services.ConfigureHttpJsonOptions(o => HubJson.Apply(o.SerializerOptions));
        builder.Services.AddProblemDetails();
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o => { o.TimestampFormat = "O"; o.UseUtcTimestamp = true; });

        var app = builder.Build();
        _ = app.Services.GetRequiredService<WorkerPool>(); // a bad worker list fails at start, not at the first request
        var metrics = app.Services.GetRequiredService<GatewayMetrics>();
        app.MapMetrics("/metrics", metrics.Registry);
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" }));
        app.MapGet("/readyz", Ready);
        app.MapGet("/v1/gateway/workers", (WorkerPool pool) => TypedResults.Ok(pool.Workers.Select(Status).ToList()));
        app.MapGet("/v1/models", Models);
        app.MapGet("/v1/images/jobs", app.Services.GetRequiredService<GatewayJobList>().ListAsync); // every worker's jobs, not one worker's
        var proxy = app.Services.GetRequiredService<GatewayProxy>();
        app.Map("/v1/{**rest}", proxy.ForwardAsync);
        return app;
    }

    /// <summary>What the gateway knows of one worker.</summary>
    public sealed record WorkerStatus(string Url, bool Ready, string? Problem, int Outstanding, long Served, IReadOnlyList<string> Models);

    private static WorkerStatus Status(Worker w) => new(w.Name, w.Ready, w.Problem, w.Outstanding, w.Served, w.Models.Keys.Order(StringComparer.Ordinal).ToList());

    private static IResult Ready(WorkerPool pool)
    {
        var workers = pool.Workers.Select(Status).ToList();
        var body = new { status = workers.Any(w => w.Ready) ? "ready" : "not ready", workers };
        return workers.Any(w => w.Ready) ? TypedResults.Ok(body) : TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The union of the models the workers listed at their last probe (the first worker listing a model describes it).</summary>
    private static Ok<ModelList> Models(WorkerPool pool)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var data = new List<ModelInfo>();
        foreach (var w in pool.Workers.OrderByDescending(w => w.Ready))
            foreach (var m in w.ModelList?.Data ?? [])
                if (seen.Add(m.Id))
                    data.Add(m);
        return TypedResults.Ok(new ModelList("list", data));
    }
}

/// <summary>`gateway --worker URL [--worker URL ...] [--urls URL] [--Gateway:Key value ...]`: runs the gateway until stopped.</summary>
public sealed class GatewayCommand : Cli.ICliCommand
{
    public string Name => "gateway";
    public string Summary => "one /v1 in front of several inference workers (--worker URL, repeat; --urls where to listen)";

    public async Task<int> RunAsync(Cli.CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal);
        var workers = args.GetAll("worker");
        if (workers.Count == 0)
            throw new Cli.CliUsageException("--worker URL is required (once per worker).");
        for (var i = 0; i < workers.Count; i++)
            settings[$"Gateway:Workers:{i}"] = workers[i];
        settings["urls"] = args.Get("urls") ?? "http://127.0.0.1:5082";
        await using var app = GatewayHost.Build([], settings.Concat(ConfigOptions(args)).ToDictionary());
        await app.StartAsync(ct);
        await stdout.WriteLineAsync($"gateway listening on {string.Join(", ", app.Urls)} for {string.Join(", ", workers)}");
        try
        {
            await app.WaitForShutdownAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        await app.StopAsync(CancellationToken.None);
        return 0;
    }

    /// <summary>Options written as configuration keys (`--Gateway:ProbeInterval 00:00:05`).</summary>
    private static IEnumerable<KeyValuePair<string, string?>> ConfigOptions(Cli.CliArgs args) =>
        args.OptionNames.Where(n => n.Contains(':', StringComparison.Ordinal)).Select(n => KeyValuePair.Create(n, args.Get(n)));
}
