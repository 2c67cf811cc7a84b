using MultimodalHub.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace MultimodalHub.Tests.Core;

/// <summary>Docker cannot run here, so compose.yaml is checked as data: services, ports, volumes, GPU, healthchecks.</summary>
public sealed class ComposeTests
{
    private static YamlMappingNode Load()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Path.Combine(Repo.Root, "compose.yaml"))));
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlMappingNode Map(YamlNode node, string key) => (YamlMappingNode)((YamlMappingNode)node)[key];

    private static IEnumerable<string> Seq(YamlNode node, string key) =>
        ((YamlSequenceNode)((YamlMappingNode)node)[key]).Children.Select(c => c.ToString());

    [Fact]
    public void Has_inference_and_web_with_ports_volumes_and_readyz_healthchecks()
    {
        var services = Map(Load(), "services");
        var inference = Map(services, "inference");
        var web = Map(services, "web");

        Assert.Contains("127.0.0.1:5081:5081", Seq(inference, "ports")); // loopback on the host; a TLS proxy in front for more
        Assert.Contains("127.0.0.1:5080:5080", Seq(web, "ports"));
        Assert.Contains(Seq(inference, "volumes"), v => v.EndsWith(":/models:ro", StringComparison.Ordinal));
        Assert.Contains(Seq(web, "volumes"), v => v.StartsWith("hub-data:/data", StringComparison.Ordinal));
        Assert.True(Load().Children.ContainsKey("volumes"));

        foreach (var (service, port) in new[] { (inference, 5081), (web, 5080) })
        {
            var test = Seq(Map(service, "healthcheck"), "test").ToList();
            Assert.Contains($"http://127.0.0.1:{port}/readyz", test);
        }

        var gpu = (YamlSequenceNode)Map(Map(Map(inference, "deploy"), "resources"), "reservations")["devices"];
        var device = (YamlMappingNode)gpu.Children[0];
        Assert.Equal("nvidia", device["driver"].ToString());
        Assert.Contains("gpu", ((YamlSequenceNode)device["capabilities"]).Children.Select(c => c.ToString()));

        Assert.Equal("http://inference:5081", Map(web, "environment")["Inference__BaseUrl"].ToString());
        Assert.Equal("service_healthy", Map(Map(web, "depends_on"), "inference")["condition"].ToString());
        Assert.Equal("/models", Map(inference, "environment")["Inference__ModelRoots__0"].ToString());
        // The service checks API keys in the web app's database: both mount the data volume and name the same file.
        Assert.Contains(Seq(inference, "volumes"), v => v.StartsWith("hub-data:/data", StringComparison.Ordinal));
        Assert.Equal(Map(web, "environment")["Data__DatabasePath"].ToString(), Map(inference, "environment")["Data__DatabasePath"].ToString());
    }

    [Fact]
    public void Scale_profile_puts_two_gpu_workers_behind_the_gateway_and_the_web_app_on_it()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Path.Combine(Repo.Root, "compose.yaml"))));
        var services = Map(yaml.Documents[0].RootNode, "services");
        string[] scale = ["worker-1", "worker-2", "gateway", "web-scale"];
        foreach (var name in scale)
            Assert.Contains("scale", Seq(Map(services, name), "profiles"));
        Assert.False(Map(services, "inference").Children.ContainsKey("profiles")); // the default services stay default

        var gateway = Seq(Map(services, "gateway"), "command").ToList();
        Assert.Equal("gateway", gateway[0]);
        Assert.Equal(["http://worker-1:5081", "http://worker-2:5081"], gateway.Where((_, i) => i > 0 && gateway[i - 1] == "--worker"));
        Assert.Equal("service_healthy", Map(Map(Map(services, "gateway"), "depends_on"), "worker-2")["condition"].ToString());
        Assert.Contains("http://127.0.0.1:5082/readyz", Seq(Map(Map(services, "gateway"), "healthcheck"), "test"));

        foreach (var (name, port) in new[] { ("web-scale", 5083), ("web-scale-2", 5084) })
        {
            var web = Map(services, name);
            Assert.Equal("http://gateway:5082", Map(web, "environment")["Inference__BaseUrl"].ToString());
            Assert.Contains($"127.0.0.1:{port}:5080", Seq(web, "ports"));
        }

        // Each worker has its own GPU, and otherwise the same settings.
        string DeviceOf(string name)
        {
            var devices = (YamlSequenceNode)Map(Map(Map(services, name), "deploy"), "resources")["reservations"]["devices"];
            return Seq(devices.Children[0], "device_ids").Single();
        }
        Assert.Equal("0", DeviceOf("worker-1"));
        Assert.Equal("1", DeviceOf("worker-2"));
        Assert.Equal(Seq(Map(services, "worker-1"), "command"), Seq(Map(services, "worker-2"), "command"));
        Assert.Equal("/models", Map(Map(services, "worker-2"), "environment")["Inference__ModelRoots__0"].ToString());
    }

    [Fact]
    public void Scale_profile_puts_workers_and_web_apps_on_one_postgres_and_the_web_apps_on_one_blob_volume()
    {
        var root = Load();
        var services = Map(root, "services");
        var postgres = Map(services, "postgres");
        Assert.Contains("scale", Seq(postgres, "profiles"));
        Assert.StartsWith("postgres:15", postgres["image"].ToString(), StringComparison.Ordinal);
        var pg = Map(postgres, "environment");
        Assert.Contains("pg_isready -U hub -d hub", Seq(Map(postgres, "healthcheck"), "test"));
        Assert.False(postgres.Children.ContainsKey("ports")); // reachable only by the other services

        // The user, database and password the server is made with are the ones every client connects with.
        var expected = $"Host=postgres;Database={pg["POSTGRES_DB"]};Username={pg["POSTGRES_USER"]};Password={pg["POSTGRES_PASSWORD"]}";
        string[] clients = ["worker-1", "worker-2", "web-scale", "web-scale-2"];
        foreach (var name in clients)
        {
            var service = Map(services, name);
            var env = Map(service, "environment");
            Assert.Equal(nameof(MultimodalHub.Data.DataProvider.Postgres), env["Data__Provider"].ToString());
            Assert.Equal(expected, env[$"ConnectionStrings__{MultimodalHub.Data.DataOptions.ConnectionStringName}"].ToString());
            Assert.Equal("service_healthy", Map(Map(service, "depends_on"), "postgres")["condition"].ToString());
            Assert.False(env.Children.ContainsKey("Data__DatabasePath"), $"{name}: SQLite's setting is unused on PostgreSQL");
        }

        // Both web apps keep their images, thumbnails and cookie keys in the one volume, at the same path.
        var blobs = clients[2..].Select(name => Map(Map(services, name), "environment")["Data__BlobPath"].ToString()).Distinct().Single();
        foreach (var name in clients[2..])
            Assert.Contains($"hub-scale-blobs:{blobs}", Seq(Map(services, name), "volumes"));
        Assert.True(Map(root, "volumes").Children.ContainsKey("hub-scale-blobs"));
        Assert.True(Map(root, "volumes").Children.ContainsKey("hub-scale-postgres"));
        Assert.Contains("hub-scale-postgres:/var/lib/postgresql/data", Seq(postgres, "volumes"));
        Assert.Equal("${HUB_GATEWAY_API_KEY:-}", Map(Map(services, "gateway"), "environment")["Gateway__ApiKey"].ToString());

        // Every setting the scale services are given names a real option of the app it configures.
        var sections = new Dictionary<string, Type[]>
        {
            ["Data"] = [typeof(MultimodalHub.Data.DataOptions)],
            ["Inference"] = [typeof(MultimodalHub.Inference.Runtime.InferenceOptions), typeof(MultimodalHub.Web.Client.InferenceClientOptions)],
            ["Gateway"] = [typeof(MultimodalHub.Inference.Gateway.GatewayOptions)],
        };
        foreach (var name in clients.Append("gateway"))
            foreach (var key in Map(Map(services, name), "environment").Children.Keys.Select(k => k.ToString()))
            {
                var parts = key.Split("__");
                if (parts[0] == "ConnectionStrings")
                    continue;
                Assert.True(sections.TryGetValue(parts[0], out var types), $"{name}: {key} is not a section the apps read");
                Assert.True(types.Any(t => t.GetProperty(parts[1]) is not null), $"{name}: {key} names no option of {string.Join(" or ", types.Select(t => t.Name))}");
            }
    }
}
