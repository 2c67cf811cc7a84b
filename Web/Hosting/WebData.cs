namespace MultimodalHub.Web.Hosting;

/// <summary>Data layer wiring (SQLite store, blobs). Filled in when the Data services land.</summary>
public static class WebData
{
    public static IServiceCollection AddHubWebData(this IServiceCollection services, IConfiguration configuration) => services;

    public static IHealthChecksBuilder AddHubDataCheck(this IHealthChecksBuilder builder) => builder;

    public static Task PrepareHubWebDataAsync(this IServiceProvider services) => Task.CompletedTask;

    public static IEndpointRouteBuilder MapHubWebEndpoints(this IEndpointRouteBuilder app) => app;
}
