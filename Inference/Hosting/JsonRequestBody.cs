using System.Text.Json;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hosting;

/// <summary>A JSON request body read into its record, with a 400 naming the field whose value has the wrong type.</summary>
public static class JsonRequestBody
{
    public static async Task<T> ReadAsync<T>(HttpRequest http, JsonSerializerOptions options, CancellationToken ct)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(http.Body, options, ct)
                ?? throw new InvalidRequestException("body", "The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            var field = e.Path is { Length: > 2 } p ? p.TrimStart('$', '.') : "body";
            throw new InvalidRequestException(field, $"Malformed JSON for '{field}': {e.Message}");
        }
    }
}
