using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Constrained;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>response_format → the schema constrained decoding enforces (null for free text); what cannot be enforced is a 400 naming the keyword.</summary>
public static class ResponseFormats
{
    public static SchemaNode? Compile(ResponseFormat? format)
    {
        switch (format?.Type)
        {
            case null when format is null:
            case "text":
                return null;
            case "json_object":
                return SchemaNode.AnyObject();
            case "json_schema":
                const string field = "response_format.json_schema.schema";
                if (format.JsonSchema?.Schema is not { } schema)
                    throw new InvalidRequestException(field, "response_format json_schema needs json_schema.schema.");
                try
                {
                    return JsonSchemaCompiler.Compile(schema, field);
                }
                catch (UnsupportedSchemaException e)
                {
                    throw new InvalidRequestException(e.Path, e.Message);
                }
            default:
                throw new InvalidRequestException("response_format.type", $"response_format.type must be text, json_object or json_schema, not '{format.Type}'.");
        }
    }
}
