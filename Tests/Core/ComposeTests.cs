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
}
