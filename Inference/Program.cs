using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Hosting;

namespace MultimodalHub.Inference;

public sealed class Program
{
    /// <summary>`serve` (the default, also when the first argument is an option) runs the HTTP service; any other first word is a CLI command.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && !args[0].StartsWith('-') && args[0] != "serve")
        {
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
            return await CliApp.RunAsync(args[0], args[1..], Console.Out, Console.Error, cts.Token);
        }
        var app = InferenceHost.Build(args.Length > 0 && args[0] == "serve" ? args[1..] : args);
        await app.RunAsync();
        return 0;
    }
}
