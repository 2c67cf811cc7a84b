using MultimodalHub.Inference.Cli;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Chat;

/// <summary>The CLI's exit codes around the chat command, through CliApp as the executable runs it.</summary>
public sealed class ChatCliTests
{
    private static readonly Dictionary<string, string?> Settings = new() { ["Inference:ModelRoots:0"] = Repo.Models, ["Inference:IntraOpThreads"] = "2" };

    [Fact]
    public async Task A_bad_seed_is_a_usage_error_with_exit_code_2()
    {
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync("chat", ["--prompt", "hi", "--seed", "twelve"], new StringWriter(), stderr, TestContext.Current.CancellationToken, Settings);
        Assert.Equal(2, code);
        Assert.Contains("--seed must be an integer", stderr.ToString());
    }

    [Fact]
    public async Task A_cancelled_run_prints_cancelled_and_exits_130()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync("chat", ["--prompt", "hi", "--json"], new StringWriter(), stderr, cts.Token, Settings);
        Assert.Equal(130, code);
        Assert.Contains("cancelled", stderr.ToString());
    }
}
