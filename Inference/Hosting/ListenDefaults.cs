using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace MultimodalHub.Hosting;

/// <summary>
/// Where a hub service listens: wherever ASP.NET Core's own settings say (<c>--urls</c>, <c>ASPNETCORE_URLS</c>,
/// <c>DOTNET_URLS</c>, <c>URLS</c>, <c>Urls</c> in appsettings, <c>ASPNETCORE_HTTP_PORTS</c>/<c>HTTPS_PORTS</c>, or
/// <c>Kestrel:Endpoints</c>), and on the hub's loopback default only when none of them is given. Shared by the
/// inference service and the web app (linked into both).
/// </summary>
internal static class ListenDefaults
{
    /// <summary>Listen on <paramref name="url"/> unless the configuration names an address.</summary>
    public static void UseUrlsUnlessConfigured(this WebApplicationBuilder builder, string url)
    {
        if (!HasAddress(builder.Configuration)) builder.WebHost.UseUrls(url);
    }

    /// <summary>Whether the configuration says where to listen, as Kestrel reads it.</summary>
    public static bool HasAddress(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.ServerUrlsKey])
        || !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.HttpPortsKey])
        || !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.HttpsPortsKey])
        || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
}
