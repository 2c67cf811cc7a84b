namespace MultimodalHub.Inference.Cli;

/// <summary>A subcommand of the Inference binary (classify, caption, ask, imagine, chat, bench); prints JSON to stdout.</summary>
public interface ICliCommand
{
    string Name { get; }

    /// <summary>One line for `Inference help`.</summary>
    string Summary { get; }

    /// <summary>Run with the arguments after the command name; returns the exit code.</summary>
    Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct);
}
