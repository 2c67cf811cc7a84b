namespace MultimodalHub.Inference.Cli;

/// <summary>
/// `--name value` options (repeatable), `--flag` switches and positional words. Unknown options are reported by
/// <see cref="EnsureOnly"/> so typos fail loudly.
/// </summary>
public sealed class CliArgs
{
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Positional { get; }

    public CliArgs(IEnumerable<string> args, IReadOnlySet<string>? flags = null)
    {
        var positional = new List<string>();
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) { positional.Add(a); continue; }
            var name = a[2..];
            string? inline = null;
            var eq = name.IndexOf('=');
            if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
            if (inline is null && flags?.Contains(name) == true) { _flags.Add(name); continue; }
            // An option with no value after it (last, or followed by another --option) is a switch, e.g. `--json`.
            if (inline is null && (i + 1 >= list.Count || IsOption(list[i + 1]))) { _flags.Add(name); continue; }
            var value = inline ?? list[++i];
            if (!_options.TryGetValue(name, out var values)) _options[name] = values = [];
            values.Add(value);
        }
        Positional = positional;
    }

    private static bool IsOption(string s) => s.Length > 2 && s.StartsWith("--", StringComparison.Ordinal) && !char.IsDigit(s[2]) && s[2] != '.';

    /// <summary>The names of the options given with a value.</summary>
    public IEnumerable<string> OptionNames => _options.Keys;

    public string? Get(string name) => _options.TryGetValue(name, out var v) ? v[^1] : null;

    public IReadOnlyList<string> GetAll(string name) => _options.TryGetValue(name, out var v) ? v : [];

    public bool Has(string name) => _flags.Contains(name) || _options.ContainsKey(name);

    public string Required(string name) => Get(name)
        ?? throw new CliUsageException(_flags.Contains(name) ? $"--{name} needs a value." : $"--{name} is required.");

    public int GetInt(string name, int fallback) => Get(name) is { } s
        ? int.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : throw new CliUsageException($"--{name} must be an integer, not '{s}'.")
        : fallback;

    public long? GetLong(string name) => Get(name) is { } s
        ? long.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : throw new CliUsageException($"--{name} must be an integer, not '{s}'.")
        : null;

    public double GetDouble(string name, double fallback) => Get(name) is { } s
        ? double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : throw new CliUsageException($"--{name} must be a number, not '{s}'.")
        : fallback;

    public void EnsureOnly(params string[] allowed)
    {
        var unknown = _options.Keys.Concat(_flags).Where(k => !allowed.Contains(k)).ToList();
        if (unknown.Count > 0) throw new CliUsageException($"Unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}.");
    }
}

public sealed class CliUsageException(string message) : Exception(message);
