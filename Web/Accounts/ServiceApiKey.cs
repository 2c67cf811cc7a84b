using System.Net.Http.Headers;

namespace MultimodalHub.Web.Accounts;

/// <summary>The web app's key for the inference service, made at start (<see cref="Data.Accounts.IApiKeyStore.CreateServiceKeyAsync"/>).</summary>
public sealed class ServiceApiKey
{
    public string? Value { get; set; }
}

/// <summary>Sends the web app's key with every call to the inference service.</summary>
internal sealed class ServiceApiKeyHandler(ServiceApiKey key) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (key.Value is { } value)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", value);
        return base.SendAsync(request, cancellationToken);
    }
}
