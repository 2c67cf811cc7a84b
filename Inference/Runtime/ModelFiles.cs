using System.Text.Json;

namespace MultimodalHub.Inference.Runtime;

/// <summary>Reading a model folder's JSON files (config.json, tokenizer_config.json, ...).</summary>
public static class ModelFiles
{
    private static readonly JsonDocumentOptions Options = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    /// <summary>
    /// The file's root element (detached from its JsonDocument, which is disposed), or null when there is no such
    /// file. Comments and trailing commas are allowed, as Python's json-compatible writers sometimes leave them.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid JSON (the message names the file).</exception>
    public static JsonElement? ReadJson(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), Options);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
    }
}
