using System.Globalization;

namespace MultimodalHub.Inference.Cli;

/// <summary>What the process-spawning benchmarks (`bench cold`, `bench gateway`) need from the machine: a free
/// loopback URL for a child to listen on, and the load average to report beside the figures.</summary>
internal static class BenchEnvironment
{
    /// <summary>A loopback URL on a port free at the time of asking.</summary>
    public static Uri FreeLoopbackUrl()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return new Uri($"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}/");
    }

    /// <summary>The 1, 5 and 15 minute load averages (Linux /proc/loadavg); null elsewhere.</summary>
    public static List<double>? LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
