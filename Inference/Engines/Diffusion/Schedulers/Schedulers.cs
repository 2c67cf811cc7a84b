namespace MultimodalHub.Inference.Engines.Diffusion.Schedulers;

/// <summary>The schedulers the hub offers, by name (with the aliases users type: euler-a, dpm++2m, k_euler...).</summary>
public static class SchedulerCatalog
{
    public sealed record Entry(string Name, string Description, string[] Aliases, int DefaultSteps);

    public static IReadOnlyList<Entry> All { get; } =
    [
        new("ddim", "DDIM, eta 0 (deterministic)", ["ddimscheduler"], 20),
        new("euler", "Euler (k-diffusion Euler, EulerDiscreteScheduler)", ["k_euler", "euler_discrete", "eulerdiscretescheduler"], 20),
        new("euler_a", "Euler ancestral (stochastic: fresh seeded noise each step)", ["euler_ancestral", "k_euler_a", "eulera", "eulerancestraldiscretescheduler"], 20),
        new("dpmpp_2m", "DPM-Solver++ 2M (multistep, second order)", ["dpm++2m", "dpm++_2m", "dpmpp2m", "dpmsolver++", "dpmsolvermultistepscheduler"], 20),
        new("dpmpp_2m_karras", "DPM-Solver++ 2M with Karras sigmas", ["dpm++2m_karras", "dpm++_2m_karras", "dpmpp2m_karras", "karras"], 20),
        new("lcm", "LCM few-step sampler for consistency/turbo-distilled models (1-8 steps)", ["lcmscheduler"], 4),
    ];

    /// <summary>The canonical name for a user-typed one (case, '-' and ' ' ignored), or null when unknown.</summary>
    public static string? Normalize(string name)
    {
        var key = name.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_');
        foreach (var e in All)
            if (e.Name == key || e.Aliases.Contains(key) || e.Aliases.Contains(key.Replace("_", ""))) return e.Name;
        return null;
    }

    /// <summary>The scheduler a model's scheduler_config.json names (DDIM when it names one the hub lacks, e.g. PNDM).</summary>
    public static string DefaultFor(SchedulerConfig config) => config.ClassName switch
    {
        "EulerDiscreteScheduler" => "euler",
        "EulerAncestralDiscreteScheduler" => "euler_a",
        "DPMSolverMultistepScheduler" => config.UseKarrasSigmas ? "dpmpp_2m_karras" : "dpmpp_2m",
        "LCMScheduler" => "lcm",
        _ => "ddim",
    };

    public static Entry Get(string name) => All.First(e => e.Name == name);

    public static IDiffusionScheduler Create(string name, SchedulerConfig config, int steps) => name switch
    {
        "ddim" => new DdimScheduler(config, steps),
        "euler" => new EulerScheduler(config, steps, config.UseKarrasSigmas && config.ClassName == "EulerDiscreteScheduler"),
        "euler_a" => new EulerAncestralScheduler(config, steps),
        "dpmpp_2m" => new DpmSolverMultistepScheduler(config, steps, karras: false),
        "dpmpp_2m_karras" => new DpmSolverMultistepScheduler(config, steps, karras: true),
        "lcm" => new LcmScheduler(config, steps),
        _ => throw new ArgumentException($"Unknown scheduler '{name}'.", nameof(name)),
    };
}
