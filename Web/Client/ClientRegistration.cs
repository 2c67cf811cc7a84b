using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace MultimodalHub.Web.Client;

public static class ClientRegistration
{
    /// <summary>
    /// Registers <see cref="InferenceClient"/> as a typed HttpClient on Inference:BaseUrl with the standard resilience
    /// pipeline (Microsoft.Extensions.Http.Resilience): retries with exponential back-off and jitter for GET/HEAD
    /// only (inference POSTs are not idempotent), a circuit breaker, per-attempt and total timeouts. Short reads
    /// (health, model list) get their own tighter timeout in the client. Streaming calls read the body with
    /// ResponseHeadersRead, so the timeouts bound the wait for the response headers, not a stream's length.
    /// </summary>
    public static IHttpClientBuilder AddInferenceClient(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<InferenceClientOptions>().Bind(configuration.GetSection(InferenceClientOptions.Section));
        var builder = services.AddHttpClient<InferenceClient>((sp, http) =>
        {
            var o = sp.GetRequiredService<IOptions<InferenceClientOptions>>().Value;
            http.BaseAddress = o.BaseUrl;
            http.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline owns timeouts
        });
        var request = configuration.GetSection(InferenceClientOptions.Section).Get<InferenceClientOptions>()?.RequestTimeout
                      ?? new InferenceClientOptions().RequestTimeout;
        builder.AddStandardResilienceHandler(o =>
        {
            o.Retry.DisableForUnsafeHttpMethods();
            o.Retry.MaxRetryAttempts = 2;
            o.Retry.Delay = TimeSpan.FromMilliseconds(200);
            o.AttemptTimeout.Timeout = request;
            o.TotalRequestTimeout.Timeout = request * 2;
            o.CircuitBreaker.SamplingDuration = request * 2;
            o.CircuitBreaker.BreakDuration = TimeSpan.FromSeconds(3);
            o.CircuitBreaker.MinimumThroughput = 20;
        });
        return builder;
    }
}
