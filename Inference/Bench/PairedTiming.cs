using System.Diagnostics;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace MultimodalHub.Bench;

/// <summary>
/// A paired comparison of two ways to do the same work, a baseline and a candidate, run back to back in one
/// invocation with their order swapped each time, so a shared machine's changing load falls on both alike. Each pair
/// gives one ratio (baseline time ÷ candidate time: above 1 when the candidate is faster); <see cref="Summary"/> gives
/// the median and quartiles of those ratios (a load spike moves a few pairs, not the median) and the ratio of the totals.
/// Both wall time and the calling thread's CPU time are kept: with one ONNX Runtime thread (the benchmarks' sessions) the
/// whole run is on the calling thread, and its CPU time leaves out the time the thread waited for a core on a busy machine.
/// </summary>
internal sealed class PairedTiming
{
    private readonly Side _wall = new(), _cpu = new();

    public int Pairs => _wall.Ratios.Count;

    /// <summary>Run both once, alternating which goes first; returns the second one's result.</summary>
    public T Run<T>(Func<T> baseline, Func<T> candidate)
    {
        var candidateFirst = Pairs % 2 == 0;
        (TimeSpan Wall, TimeSpan Cpu) b, c;
        T result;
        if (candidateFirst)
        {
            c = Time(candidate, out _);
            b = Time(baseline, out result);
        }
        else
        {
            b = Time(baseline, out _);
            c = Time(candidate, out result);
        }
        _wall.Add(b.Wall, c.Wall);
        _cpu.Add(b.Cpu, c.Cpu);
        return result;
    }

    private static (TimeSpan Wall, TimeSpan Cpu) Time<T>(Func<T> work, out T result)
    {
        var cpu = ThreadCpuTime();
        var sw = Stopwatch.StartNew();
        result = work();
        var wall = sw.Elapsed;
        return (wall, ThreadCpuTime() - cpu);
    }

    /// <summary>Per-pair medians and quartiles (wall and thread CPU time), the means of each side; empty before any pair.</summary>
    public string Summary(string what, string baseline, string candidate)
    {
        if (Pairs == 0) return "";
        return $"// paired {what}, {Pairs} pairs, load average {LoadAverage()}; ratio = {baseline} ÷ {candidate}\n" +
            $"//   wall:       {baseline} {_wall.Mean(b: true)}, {candidate} {_wall.Mean(b: false)}, {_wall.Ratio()}\n" +
            $"//   thread CPU: {baseline} {_cpu.Mean(b: true)}, {candidate} {_cpu.Mean(b: false)}, {_cpu.Ratio()}";
    }

    /// <summary>One measure's per-pair ratios and totals.</summary>
    private sealed class Side
    {
        private TimeSpan _baseline, _candidate;

        public List<double> Ratios { get; } = [];

        public void Add(TimeSpan baseline, TimeSpan candidate)
        {
            _baseline += baseline;
            _candidate += candidate;
            Ratios.Add(baseline / candidate);
        }

        public string Mean(bool b) => $"{(b ? _baseline : _candidate).TotalMilliseconds / Ratios.Count:F2} ms";

        public string Ratio()
        {
            var sorted = Ratios.Order().ToArray();
            return $"median x{Quantile(sorted, 0.5):F3} [quartiles x{Quantile(sorted, 0.25):F3}-x{Quantile(sorted, 0.75):F3}], of totals x{_baseline / _candidate:F3}";
        }
    }

    private static double Quantile(double[] sorted, double q)
    {
        var pos = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (pos - lo));
    }

    /// <summary>CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID); zero where that clock is not available.</summary>
    private static TimeSpan ThreadCpuTime()
    {
        if (!OperatingSystem.IsLinux() || NativeMethods.ClockGetTime(NativeMethods.ClockThreadCpuTime, out var ts) != 0) return TimeSpan.Zero;
        return TimeSpan.FromTicks((ts.Seconds * TimeSpan.TicksPerSecond) + (ts.Nanoseconds / 100));
    }

    private static class NativeMethods
    {
        public const int ClockThreadCpuTime = 3;

        [StructLayout(LayoutKind.Sequential)]
        public struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [DllImport("libc", EntryPoint = "clock_gettime")]
        public static extern int ClockGetTime(int clock, out Timespec time);
    }

    /// <summary>The 1-minute load average (Linux), to print beside figures measured on a shared machine.</summary>
    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    }
}

/// <summary>In process like <see cref="QuickInProcessConfig"/>, with 15 measured iterations: more pairs for <see cref="PairedTiming"/>.</summary>
public sealed class PairedInProcessConfig : ManualConfig
{
    public PairedInProcessConfig()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(15).WithId("paired"));
    }
}
