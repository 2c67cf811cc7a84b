using System.Diagnostics;

namespace MultimodalHub.Inference.Cli;

/// <summary>
/// This binary run again as a child process (`serve` or `gateway` for a benchmark): the apphost when this process is
/// it, else `dotnet MultimodalHub.Inference.dll`. Its output is kept (last lines) for error messages; the whole process
/// tree is killed on dispose.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private const int KeptLines = 200;
    private readonly Process _process;
    private readonly Queue<string> _log = new();

    public ChildProcess(string name, IEnumerable<string> args)
    {
        Name = name;
        var dll = typeof(ChildProcess).Assembly.Location;
        var self = Environment.ProcessPath;
        var apphost = self is not null && Path.GetFileNameWithoutExtension(self) == Path.GetFileNameWithoutExtension(dll);
        var start = new ProcessStartInfo(apphost ? self! : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        if (!apphost)
            start.ArgumentList.Add(dll);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote (stdout and stderr, interleaved).</summary>
    public string Log
    {
        get
        {
            lock (_log) return string.Join('\n', _log);
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log)
        {
            _log.Enqueue(line);
            while (_log.Count > KeptLines) _log.Dequeue();
        }
    }

    /// <summary>Polls <paramref name="url"/> until <paramref name="accept"/> likes an answer; throws with the log when the process exits or time runs out.</summary>
    public async Task WaitUntilAsync(HttpClient http, Uri url, Func<HttpResponseMessage, Task<bool>> accept, TimeSpan within, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before {url} answered:\n{Log}");
            try
            {
                using var response = await http.GetAsync(url, ct);
                if (await accept(response)) return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }
            await Task.Delay(200, ct);
        }
        throw new InvalidOperationException($"{Name}: {url} was not ready within {within.TotalSeconds:0} s:\n{Log}");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
