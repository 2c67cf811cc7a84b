using Microsoft.AspNetCore.Http.Features;
using MudBlazor;
using MudBlazor.Services;
using MultimodalHub.Data;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Hosting;
using MultimodalHub.Web.Accounts;
using MultimodalHub.Web.Client;
using MultimodalHub.Web.Components;
using MultimodalHub.Web.Services;
using MultimodalHub.Web.Services.Evaluation;
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

    /// <param name="configure">Changes to the builder before services are added (tests: the server).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
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
        builder.Services.AddSingleton<ServiceApiKey>();
        builder.Services.AddTransient<ServiceApiKeyHandler>();
        builder.Services.AddInferenceClient(builder.Configuration).AddHttpMessageHandler<ServiceApiKeyHandler>();
        builder.Services.AddSingleton<InferenceHealth>();
        builder.Services.AddHostedService<InferenceHealthPoller>();
        builder.Services.AddHubData(builder.Configuration);
        builder.AddHubAccounts();
        builder.Services.AddSingleton<RunRecorder>();
        builder.Services.AddSingleton<TextSearch>();
        builder.Services.AddEvaluation();
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
        // Behind a reverse proxy (Auth:KnownProxies, loopback always): the client's address and scheme, so cookies
        // are Secure under TLS and /setup sees that a request did not come from this machine.
        app.UseForwardedHeaders();
        app.UseHubSecurityHeaders();
        if (!app.Environment.IsDevelopment())
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseStatusCodePagesWithReExecute("/not-found");
        app.UseShareNotFound();
        app.UseRouting();
        app.UseHttpMetrics();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        // A form post without a valid antiforgery token ends here as a plain 400 (before any handler or page reads the form).
        app.Use(async (http, next) =>
        {
            if (http.Features.Get<Microsoft.AspNetCore.Antiforgery.IAntiforgeryValidationFeature>() is { IsValid: false })
            {
                http.Response.StatusCode = StatusCodes.Status400BadRequest;
                await http.Response.WriteAsync("Invalid or missing antiforgery token: reload the page and try again.");
                return;
            }
            await next();
        });

        // Everything needs a signed-in account (the fallback policy) except what says AllowAnonymous here and on pages.
        app.MapStaticAssets().AllowAnonymous();
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" })).ExcludeFromDescription().AllowAnonymous();
        app.MapHealthChecks("/readyz", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
        {
            ResponseWriter = HealthResponse.WriteAsync,
        }).AllowAnonymous();
        app.MapMetrics("/metrics").AllowAnonymous();
        app.MapAccountEndpoints();
        app.MapHubWebEndpoints();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }

    /// <summary>Start-up work before serving: database migrations and recovery of runs left in flight.</summary>
    public static async Task PrepareAsync(this WebApplication app)
    {
        await app.Services.MigrateHubDataAsync();
        // The web app's own key for the inference service, new at every start (the service checks it in the same database).
        app.Services.GetRequiredService<ServiceApiKey>().Value = await app.Services.GetRequiredService<IApiKeyStore>().CreateServiceKeyAsync();
    }
}
