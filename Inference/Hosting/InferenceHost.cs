using MultimodalHub.Contracts;
using MultimodalHub.Hosting;
using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Engines.Diffusion;
using MultimodalHub.Inference.Engines.Embedding;
using MultimodalHub.Inference.Engines.Moderation;
using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Hub;
using MultimodalHub.Inference.Runtime;
using Prometheus;

namespace MultimodalHub.Inference.Hosting;

/// <summary>Builds the inference service: shared runtime, the five engines, endpoints.</summary>
public static class InferenceHost
{
    /// <summary>The services both `serve` and the CLI commands use.</summary>
    public static IServiceCollection AddInferenceCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<InferenceOptions>().Bind(configuration.GetSection(InferenceOptions.Section));
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<OrtSessionFactory>();
        services.AddSingleton<LoadedModels>();
        services.AddSingleton<HubMetrics>();
        services.AddOptions<QueueOptions>().Bind(configuration.GetSection(QueueOptions.Section));
        services.AddSingleton<ModelQueues>();
        services.AddOptions<MultimodalHub.Inference.Imaging.ImageLimits>().Bind(configuration.GetSection("Limits:Images"));
        services.AddClipEngine();
        services.AddVlmEngine();
        services.AddDiffusionEngine();
        services.AddChatEngine();
        services.AddEmbeddingEngine();
        services.AddModeration();
        services.AddModelHub();
        services.AddSingleton<MultimodalHub.Inference.Cli.ICliCommand, MultimodalHub.Inference.Cli.BenchCommand>();
        services.AddSingleton<MultimodalHub.Inference.Cli.ICliCommand, MultimodalHub.Inference.Gateway.GatewayCommand>();
        services.AddSingleton<MultimodalHub.Inference.Cli.ICliCommand, MultimodalHub.Inference.Gateway.GatewayBenchCommand>();
        services.AddSingleton<MultimodalHub.Inference.Cli.ICliCommand, MultimodalHub.Inference.Cli.ColdBenchCommand>();
        return services;
    }

    /// <summary>Where the service listens when neither --urls, ASPNETCORE_URLS nor any other ASP.NET Core address setting is given.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5081";

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.UseUrlsUnlessConfigured(DefaultUrl);
        builder.Services.AddInferenceCore(builder.Configuration);
        builder.Services.AddHostedService<IdleUnloader>();
        builder.Services.AddHostedService<PullResumer>();
        builder.Services.AddHostedService<Preloader>();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        builder.Services.ConfigureHttpJsonOptions(o => HubJson.Apply(o.SerializerOptions));
        // Minimal APIs throw BadHttpRequestException (malformed JSON, bad enum, empty body) only when this is set (by
        // default only in Development); ProblemExceptionHandler turns it into a 400 naming the JSON path.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddOpenApi();
        builder.AddApiKeyAuth();
        builder.AddServiceLimits();
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o => { o.IncludeScopes = true; o.TimestampFormat = "O"; o.UseUtcTimestamp = true; });

        var app = builder.Build();
        app.UseApiSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseHttpMetrics();
        app.UseApiKeyAuth();
        app.UseRateLimiter();
        app.MapOpenApi();
        app.MapMetrics("/metrics");
        app.MapCoreEndpoints();
        // Every /v1 route (the engines' too) is rate limited per client.
        var api = app.MapGroup("").RequireRateLimiting(ServiceLimits.ApiPolicy);
        api.MapModelEndpoints();
        api.MapPullEndpoints();
        api.MapModelManagement();
        api.MapClipEndpoints();
        api.MapVlmEndpoints();
        api.MapDiffusionEndpoints();
        api.MapChatEndpoints();
        api.MapEmbeddingEndpoints();
        api.MapModerationEndpoints();
        return app;
    }
}
