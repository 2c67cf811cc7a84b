namespace MultimodalHub.Inference.Hub;

/// <summary>Registers the hub client, the puller, and the `models pull|list|info|rm` commands.</summary>
public static class HubModule
{
    public static IServiceCollection AddModelHub(this IServiceCollection services)
    {
        services.AddOptions<HubOptions>().BindConfiguration(HubOptions.Section);
        services.AddSingleton<HubSettings>();
        // Redirects are followed by HubClient itself (it reads the hub's headers on the way and keeps the token on the
        // hub's host); no automatic decompression (sizes and hashes are of the stored bytes); timeouts per read, not per file.
        services.AddHttpClient<HubClient>(HubClient.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = System.Net.DecompressionMethods.None,
                ConnectTimeout = TimeSpan.FromSeconds(30),
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            })
            // HubClient logs what matters (retries, failures); four lines per file request would drown a pull of many files.
            .RemoveAllLoggers();
        services.AddSingleton<ModelPuller>();
        services.AddSingleton<Cli.ICliCommand, PullCommand>();
        services.AddSingleton<Cli.ICliCommand, ModelsListCommand>();
        services.AddSingleton<Cli.ICliCommand, ModelInfoCommand>();
        services.AddSingleton<Cli.ICliCommand, ModelRemoveCommand>();
        services.AddSingleton<Cli.ICliCommand, ServeHubCommand>();
        services.AddSingleton<Cli.ICliCommand, PullBenchCommand>();
        return services;
    }
}
