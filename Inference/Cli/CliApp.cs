using System.Text.Json;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Hosting;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Cli;

/// <summary>Runs one CLI subcommand inside a generic host that has the same services as `serve`.</summary>
public static class CliApp
{
    /// <summary>Run a subcommand; settings (optional) override configuration, as `--Section:Key value` would for serve.</summary>
    public static async Task<int> RunAsync(string command, string[] rest, TextWriter stdout, TextWriter stderr, CancellationToken ct,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder();
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddFilter((category, level) => level >= LogLevel.Warning);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.AddInferenceCore(builder.Configuration);
        using var host = builder.Build();
        var commands = host.Services.GetServices<ICliCommand>().ToDictionary(c => c.Name, StringComparer.Ordinal);
        // A command may be two words ("models import-nuget"); the longer name wins.
        if (rest.Length > 0 && commands.ContainsKey($"{command} {rest[0]}"))
        {
            command = $"{command} {rest[0]}";
            rest = rest[1..];
        }
        if (command is "help" or "--help" or "-h" || !commands.TryGetValue(command, out var cmd))
        {
            var known = command is "help" or "--help" or "-h";
            (known ? stdout : stderr).WriteLine("usage: MultimodalHub.Inference [serve] [--urls URL] | <command> [options]\ncommands:");
            foreach (var c in commands.Values.OrderBy(c => c.Name)) (known ? stdout : stderr).WriteLine($"  {c.Name,-20} {c.Summary}");
            if (!known) stderr.WriteLine($"error: unknown command '{command}'");
            return known ? 0 : 2;
        }
        try
        {
            return await cmd.RunAsync(new CliArgs(rest), stdout, ct);
        }
        catch (CliUsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (InvalidRequestException e)
        {
            stderr.WriteLine($"error: {e.Field}: {e.Message}");
            return 2;
        }
        catch (Hub.PullException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (ModelLoadException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            stderr.WriteLine("cancelled");
            return 130;
        }
    }

    /// <summary>The JSON the CLI prints: the API's own (snake_case), indented.</summary>
    public static void WriteJson<T>(TextWriter stdout, T value)
    {
        var options = HubJson.Create();
        options.WriteIndented = true;
        stdout.WriteLine(JsonSerializer.Serialize(value, options));
    }
}
