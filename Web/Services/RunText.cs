using System.Globalization;
using System.Text.Json;
using MultimodalHub.Contracts;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Web.Services;

/// <summary>Formatting of stored runs: parameters as JSON, timings, labels, readable errors.</summary>
public static class RunText
{
    public static readonly JsonSerializerOptions Json = HubJson.Create();

    public static string ToJson<T>(T value) => JsonSerializer.Serialize(value, Json);

    /// <summary>The run's parameters as (name, value) pairs in stored order, for detail views.</summary>
    public static IReadOnlyList<(string Name, string Value)> Parameters(string? json)
    {
        var list = new List<(string, string)>();
        if (string.IsNullOrWhiteSpace(json)) return list;
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return list;
            foreach (var p in doc.RootElement.EnumerateObject())
                list.Add((p.Name, p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString() ?? "",
                    JsonValueKind.Array => string.Join(", ", p.Value.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText())),
                    _ => p.Value.GetRawText(),
                }));
        }
        catch (JsonException) { }
        return list;
    }

    /// <summary>What an image run is ranked as on the Ratings and Evaluate pages: the model and the settings that made
    /// the image, seed aside ("sd-shapes · euler · 20 steps · cfg 7.5").</summary>
    public static string Contender(string model, string? parametersJson)
    {
        var p = Parameters(parametersJson).ToDictionary(x => x.Name, x => x.Value);
        return $"{model} · {p.GetValueOrDefault("scheduler", "default")} · {p.GetValueOrDefault("steps", "?")} steps · cfg {p.GetValueOrDefault("guidance_scale", "?")}";
    }

    /// <summary>What a chat run is ranked as in the arena: the model and its sampler settings, the seed only when one
    /// was fixed ("shapes-chat · temperature 0.7 · top-p 0.9 · 64 tokens", "... · seed 3").</summary>
    public static string ChatContender(string model, string? parametersJson)
    {
        var p = Parameters(parametersJson).ToDictionary(x => x.Name, x => x.Value);
        var label = $"{model} · temperature {p.GetValueOrDefault("temperature", "?")} · top-p {p.GetValueOrDefault("top_p", "?")} · {p.GetValueOrDefault("max_tokens", "?")} tokens";
        return p.GetValueOrDefault("seed") is { } seed && seed != "null" ? $"{label} · seed {seed}" : label;
    }

    /// <summary>Stored classification scores ([[{label, score}...] per image]) as "red circle 98.3%, ..." per image.</summary>
    public static IReadOnlyList<string> LabelSummary(string? json, int top = 5)
    {
        var lines = new List<string>();
        if (string.IsNullOrWhiteSpace(json)) return lines;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var images = doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Array)
                ? doc.RootElement.EnumerateArray().ToList()
                : [doc.RootElement];
            foreach (var image in images)
                lines.Add(string.Join(", ", image.EnumerateArray().Take(top).Select(l =>
                    $"{l.GetProperty("label").GetString()} {l.GetProperty("score").GetDouble() * 100:0.0}%")));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { lines.Add(json); }
        return lines;
    }

    public static string Duration(Run run) => run.Started is { } s && run.Finished is { } f
        ? Ms((f - s).TotalMilliseconds)
        : run.Finished is { } f2 ? Ms((f2 - run.Created).TotalMilliseconds) : "";

    public static string Ms(double ms) => ms >= 1000
        ? (ms / 1000).ToString("0.00", CultureInfo.InvariantCulture) + " s"
        : ms.ToString("0", CultureInfo.InvariantCulture) + " ms";

    public static string KindName(RunKind kind) => kind switch
    {
        RunKind.Classify => "classify",
        RunKind.Caption => "caption",
        RunKind.Vqa => "vqa",
        RunKind.Imagine => "imagine",
        RunKind.Chat => "chat",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>A failure <see cref="Describe"/> has its own message for (bad input, the service down or refusing):
    /// expected in normal use, logged as a warning rather than an error.</summary>
    public static bool IsExpected(Exception e) => e is MultimodalHub.Web.Client.InferenceUnavailableException
        or MultimodalHub.Web.Client.InferenceProblemException or MultimodalHub.Data.Services.InvalidImageException
        or MultimodalHub.Data.Services.ImageNotStoredException or RunFailedException;

    /// <summary>A readable message for any failure of a page action (never an exception page).</summary>
    public static string Describe(Exception e) => e switch
    {
        MultimodalHub.Web.Client.InferenceUnavailableException u => u.Message,
        MultimodalHub.Web.Client.InferenceProblemException p when p.Status == System.Net.HttpStatusCode.NotFound && p.Title.Contains("route", StringComparison.OrdinalIgnoreCase)
            => "This engine is not available in the running inference service.",
        MultimodalHub.Web.Client.InferenceProblemException p => p.Field is null ? p.Message : $"{p.Message} (field: {p.Field})",
        MultimodalHub.Data.Services.InvalidImageException i => i.Message,
        MultimodalHub.Data.Services.ImageNotStoredException => "An image is no longer stored (unused uploads are removed after a while): add it again.",
        RunFailedException f => f.Message,
        _ => "Unexpected error: " + e.Message,
    };
}
