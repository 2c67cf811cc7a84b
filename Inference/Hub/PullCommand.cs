using System.Globalization;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Cli;

namespace MultimodalHub.Inference.Hub;

/// <summary>
/// `models pull owner/name[@revision] [--variant fp32|fp16|q8|q4|q4f16|...] [--kind clip|chat|vlm|diffusion|embedding]
/// [--name ID] [--out ROOT] [--dry-run] [--quiet]`: downloads the files the model's kind needs in one variant into the
/// first models root and prints the result as JSON; progress goes to stderr (a bar on a terminal, plain lines otherwise).
/// `--dry-run` prints the files and sizes it would fetch.
/// </summary>
public sealed class PullCommand(ModelPuller puller) : ICliCommand
{
    public string Name => "models pull";

    public string Summary => "download a model from a Hugging Face-style hub: models pull Xenova/clip-vit-base-patch32 [--variant q8]";

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly("variant", "kind", "name", "out", "revision", "dry-run", "quiet");
        if (args.Positional is not [var repo])
            throw new CliUsageException("Name one repository, e.g. models pull Xenova/clip-vit-base-patch32 (optionally @revision).");
        var spec = PullSpec.From(new ModelPullRequest(repo, args.Get("revision"), args.Get("variant"), args.Get("kind"), args.Get("name")));
        var root = args.Get("out");
        if (args.Has("dry-run"))
        {
            CliApp.WriteJson(stdout, await puller.PreviewAsync(spec, root, ct));
            return 0;
        }
        var view = args.Has("quiet") ? null : new PullProgressView(Console.Error, interactive: !Console.IsErrorRedirected);
        PullJob? job = null;
        var pull = puller.PullAsync(spec, root, ct, j => job = j);
        while (view is not null && !pull.IsCompleted)
        {
            await Task.WhenAny(pull, Task.Delay(view.Interval, CancellationToken.None));
            if (job is not null) view.Show(job.Snapshot());
        }
        PullResult result;
        try
        {
            result = await pull;
        }
        finally
        {
            if (view is not null && job is not null) view.Done(job.Snapshot());
        }
        CliApp.WriteJson(stdout, result);
        return 0;
    }
}

/// <summary>Pull progress on stderr: one redrawn bar line on a terminal (bytes, rate, ETA), or a plain line per file and every few seconds.</summary>
internal sealed class PullProgressView(TextWriter err, bool interactive)
{
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);
    private DateTimeOffset _lastLine = DateTimeOffset.MinValue;
    private int _width;

    public TimeSpan Interval => interactive ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromSeconds(1);

    public void Show(PullJobInfo job)
    {
        if (interactive)
        {
            var fraction = job.TotalBytes > 0 ? (double)job.DoneBytes / job.TotalBytes : 0;
            const int bar = 24;
            var filled = (int)Math.Round(fraction * bar);
            var current = job.Files.FirstOrDefault(f => f.Status == PullFileStatus.Downloading)?.Path ?? "";
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{job.Name} [{new string('#', filled)}{new string('.', bar - filled)}] {fraction * 100,3:0}% {Size(job.DoneBytes)}/{Size(job.TotalBytes)} {Size((long)job.BytesPerSecond)}/s ETA {Eta(job.EtaSeconds)} {current}");
            err.Write("\r" + line.PadRight(_width));
            _width = line.Length;
            return;
        }
        foreach (var f in job.Files.Where(f => f.Status is PullFileStatus.Done or PullFileStatus.Present or PullFileStatus.Failed && _reported.Add(f.Path)))
            err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{job.Name}: {f.Path} {Size(f.Size)} {f.Status.ToString().ToLowerInvariant()}"));
        if (job.Status == PullStatus.Running && DateTimeOffset.UtcNow - _lastLine > TimeSpan.FromSeconds(5) && job.TotalBytes > 0)
        {
            _lastLine = DateTimeOffset.UtcNow;
            err.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{job.Name}: {Size(job.DoneBytes)} of {Size(job.TotalBytes)} ({100.0 * job.DoneBytes / job.TotalBytes:0}%), {Size((long)job.BytesPerSecond)}/s, ETA {Eta(job.EtaSeconds)}"));
        }
    }

    public void Done(PullJobInfo job)
    {
        if (interactive)
        {
            Show(job);
            err.WriteLine();
        }
        else
        {
            Show(job);
        }
        err.WriteLine($"{job.Name}: {job.Status.ToString().ToLowerInvariant()}");
    }

    internal static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.00} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    internal static string Eta(double? seconds) => seconds is { } s and < 360000
        ? TimeSpan.FromSeconds(Math.Ceiling(s)).ToString(s >= 3600 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture)
        : "--:--";
}
