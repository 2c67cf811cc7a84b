using Microsoft.AspNetCore.Http.Features;
using MudBlazor;
using MudBlazor.Services;
using MultimodalHub.Data;
using MultimodalHub.Hosting;
using MultimodalHub.Web.Client;
using MultimodalHub.Web.Components;
using MultimodalHub.Web.Services;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Prometheus;

namespace MultimodalHub.Web.Hosting;

/// <summary>Configuration section "Web": upload limits.</summary>
public sealed class WebOptions
{
    public const string Section = "Web";

    /// <summary>Largest image a page accepts for upload, in bytes.</summary>
    public long MaxUploadBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Largest SignalR message from the browser (file uploads stream in chunks below this).</summary>
    public long MaxReceiveMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>How often stored texts without a vector are embedded for search by meaning (new ones are embedded as they are recorded).</summary>
    public TimeSpan TextIndexInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Builds the web app: Blazor Server + MudBlazor, the inference client, data, health, metrics, headers.</summary>
public static class WebHost
{
    /// <summary>Where the web app listens when neither --urls, ASPNETCORE_URLS nor any other ASP.NET Core address setting is given.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.UseUrlsUnlessConfigured(DefaultUrl);
        // Serve framework and package assets (blazor.web.js, MudBlazor) from the build output in every environment
        // (./hub up runs the build output as Production); a published app has them in wwwroot and ignores this.
        builder.WebHost.UseStaticWebAssets();
        var web = builder.Configuration.GetSection(WebOptions.Section).Get<WebOptions>() ?? new WebOptions();
        builder.Services.Configure<WebOptions>(builder.Configuration.GetSection(WebOptions.Section));

        builder.Services.AddRazorComponents()
            .AddInteractiveServerComponents()
            .AddHubOptions(o => o.MaximumReceiveMessageSize = web.MaxReceiveMessageBytes);
        builder.Services.AddMudServices(c =>
        {
            c.SnackbarConfiguration.PositionClass = Defaults.Classes.Position.BottomRight;
            c.SnackbarConfiguration.VisibleStateDuration = 6000;
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddInferenceClient(builder.Configuration);
        builder.Services.AddSingleton<InferenceHealth>();
        builder.Services.AddHostedService<InferenceHealthPoller>();
        builder.Services.AddHubData(builder.Configuration);
        builder.Services.AddSingleton<RunRecorder>();
        builder.Services.AddSingleton<TextSearch>();
        builder.Services.AddHostedService<TextIndexBackfill>();
        builder.Services.Configure<FormOptions>(f => f.MultipartBodyLengthLimit = web.MaxUploadBytes + 1024 * 1024);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = web.MaxUploadBytes + 1024 * 1024);
        builder.Services.AddHealthChecks().AddHubDataCheck();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("multimodalhub-web"))
            .WithTracing(t =>
            {
                t.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])) t.AddOtlpExporter();
            });
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o => { o.IncludeScopes = true; o.TimestampFormat = "O"; o.UseUtcTimestamp = true; });

        var app = builder.Build();
        app.UseHubSecurityHeaders();
        if (!app.Environment.IsDevelopment())
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseStatusCodePagesWithReExecute("/not-found");
        app.UseShareNotFound();
        app.UseRouting();
        app.UseHttpMetrics();
        app.UseAntiforgery();

        app.MapStaticAssets();
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" })).ExcludeFromDescription();
        app.MapHealthChecks("/readyz", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
        {
            ResponseWriter = HealthResponse.WriteAsync,
        });
        app.MapMetrics("/metrics");
        app.MapHubWebEndpoints();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }

    /// <summary>Start-up work before serving: database migrations and recovery of runs left in flight.</summary>
    public static async Task PrepareAsync(this WebApplication app) => await app.Services.MigrateHubDataAsync();
}
