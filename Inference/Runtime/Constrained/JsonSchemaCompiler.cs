using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MultimodalHub.Inference.Runtime.Constrained;

/// <summary>The JSON value kinds a schema node admits.</summary>
[Flags]
public enum JsonKinds
{
    None = 0,
    Null = 1,
    Boolean = 2,
    Integer = 4,
    Number = 8,
    String = 16,
    Array = 32,
    Object = 64,
    Any = Null | Boolean | Integer | Number | String | Array | Object,
}

/// <summary>
/// What the decoder may write for one value: the kinds it admits, or a fixed list of literal values (enum / const, as
/// compact UTF-8 JSON); for objects the declared properties (only those keys are written; undeclared ones are never
/// needed to fit a schema) or, with none declared, free keys whose values follow <see cref="AdditionalProperties"/>;
/// for arrays the item schema and the item count bounds; for strings the length bounds in code points.
/// </summary>
public sealed class SchemaNode
{
    public JsonKinds Kinds { get; init; }
    public IReadOnlyList<byte[]>? Literals { get; init; }
    public IReadOnlyList<SchemaProperty>? Properties { get; init; }
    public SchemaNode? AdditionalProperties { get; set; }
    public SchemaNode? Items { get; set; }
    public int MinItems { get; init; }
    public int? MaxItems { get; init; }
    public int MinLength { get; init; }
    public int? MaxLength { get; init; }

    /// <summary>Any JSON value (json_object's members, a schema without constraints).</summary>
    public static SchemaNode Any()
    {
        var any = new SchemaNode { Kinds = JsonKinds.Any };
        any.Items = any;
        any.AdditionalProperties = any;
        return any;
    }

    /// <summary>response_format json_object: any JSON object.</summary>
    public static SchemaNode AnyObject() => new() { Kinds = JsonKinds.Object, AdditionalProperties = Any() };
}

/// <summary>A declared property: its key as JSON text (quotes included, UTF-8), its schema, whether it is required.</summary>
public sealed record SchemaProperty(string Name, byte[] Key, SchemaNode Schema, bool Required);

/// <summary>A schema the decoder cannot enforce, naming the JSON path of the offending keyword.</summary>
public sealed class UnsupportedSchemaException(string path, string message) : Exception(message)
{
    public string Path { get; } = path;
}

/// <summary>
/// Compiles the subset of JSON Schema that constrained decoding enforces into <see cref="SchemaNode"/>s: type (one or
/// a list), properties, required, additionalProperties, items, minItems, maxItems, enum, const, minLength, maxLength;
/// annotations (title, description, $schema, $id, default, examples) are ignored. Anything else (pattern, format,
/// minimum/maximum, anyOf/oneOf/allOf, $ref, ...) is an <see cref="UnsupportedSchemaException"/> naming it.
/// </summary>
public static class JsonSchemaCompiler
{
    /// <summary>Most declared properties per object (the seen set is a 64-bit mask).</summary>
    public const int MaxProperties = 64;

    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "title", "description", "$schema", "$id", "$comment", "default", "examples", "additionalProperties", "strict",
    };

    private static readonly HashSet<string> Enforced = new(StringComparer.Ordinal)
    {
        "type", "properties", "required", "items", "minItems", "maxItems", "enum", "const", "minLength", "maxLength",
    };

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static SchemaNode Compile(JsonElement schema, string path) => Node(schema, path);

    private static SchemaNode Node(JsonElement s, string path)
    {
        if (s.ValueKind == JsonValueKind.True) return SchemaNode.Any();
        if (s.ValueKind != JsonValueKind.Object) throw new UnsupportedSchemaException(path, "A schema must be an object (or true).");
        foreach (var p in s.EnumerateObject())
            if (!Enforced.Contains(p.Name) && !Annotations.Contains(p.Name))
                throw new UnsupportedSchemaException($"{path}.{p.Name}", $"The schema keyword '{p.Name}' cannot be enforced while decoding; supported: {string.Join(", ", Enforced)}.");

        var kinds = s.TryGetProperty("type", out var type) ? Kinds(type, path + ".type") : JsonKinds.Any;
        IReadOnlyList<byte[]>? literals = null;
        if (s.TryGetProperty("enum", out var e))
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() == 0) throw new UnsupportedSchemaException(path + ".enum", "enum must be a non-empty array.");
            literals = Literals(e.EnumerateArray(), kinds, path + ".enum");
        }
        if (s.TryGetProperty("const", out var c)) literals = Literals([c], kinds, path + ".const");

        var node = new SchemaNode
        {
            Kinds = kinds,
            Literals = literals,
            Properties = (kinds & JsonKinds.Object) != 0 ? Properties(s, path) : null,
            MinItems = Count(s, "minItems", path) ?? 0,
            MaxItems = Count(s, "maxItems", path),
            MinLength = Count(s, "minLength", path) ?? 0,
            MaxLength = Count(s, "maxLength", path),
        };
        if (node.MaxItems < node.MinItems) throw new UnsupportedSchemaException(path + ".maxItems", "maxItems is below minItems.");
        if (node.MaxLength < node.MinLength) throw new UnsupportedSchemaException(path + ".maxLength", "maxLength is below minLength.");
        if (node.Properties is null or { Count: 0 } && (kinds & JsonKinds.Object) != 0)
            node.AdditionalProperties = s.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind == JsonValueKind.Object
                ? Node(ap, path + ".additionalProperties") : SchemaNode.Any();
        if ((kinds & JsonKinds.Array) != 0)
            node.Items = s.TryGetProperty("items", out var items) ? Node(items, path + ".items") : SchemaNode.Any();
        return node;
    }

    private static JsonKinds Kinds(JsonElement type, string path)
    {
        if (type.ValueKind == JsonValueKind.String) return Kind(type.GetString()!, path);
        if (type.ValueKind == JsonValueKind.Array && type.GetArrayLength() > 0)
            return type.EnumerateArray().Aggregate(JsonKinds.None, (k, t) => k | (t.ValueKind == JsonValueKind.String ? Kind(t.GetString()!, path)
                : throw new UnsupportedSchemaException(path, "type must be a string or a list of strings.")));
        throw new UnsupportedSchemaException(path, "type must be a string or a non-empty list of strings.");
    }

    private static JsonKinds Kind(string name, string path) => name switch
    {
        "null" => JsonKinds.Null,
        "boolean" => JsonKinds.Boolean,
        "integer" => JsonKinds.Integer,
        "number" => JsonKinds.Number | JsonKinds.Integer,
        "string" => JsonKinds.String,
        "array" => JsonKinds.Array,
        "object" => JsonKinds.Object,
        _ => throw new UnsupportedSchemaException(path, $"Unknown type '{name}'."),
    };

    private static List<byte[]> Literals(IEnumerable<JsonElement> values, JsonKinds kinds, string path)
    {
        var list = values.Where(v => (KindOf(v) & kinds) != 0).Select(v => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(v, Compact))).ToList();
        if (list.Count == 0) throw new UnsupportedSchemaException(path, "No value here fits the schema's type.");
        return list;
    }

    private static JsonKinds KindOf(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null => JsonKinds.Null,
        JsonValueKind.True or JsonValueKind.False => JsonKinds.Boolean,
        JsonValueKind.Number => v.TryGetInt64(out _) ? JsonKinds.Integer | JsonKinds.Number : JsonKinds.Number,
        JsonValueKind.String => JsonKinds.String,
        JsonValueKind.Array => JsonKinds.Array,
        _ => JsonKinds.Object,
    };

    private static List<SchemaProperty>? Properties(JsonElement s, string path)
    {
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (s.TryGetProperty("required", out var r))
        {
            if (r.ValueKind != JsonValueKind.Array) throw new UnsupportedSchemaException(path + ".required", "required must be a list of property names.");
            foreach (var name in r.EnumerateArray())
                required.Add(name.ValueKind == JsonValueKind.String ? name.GetString()! : throw new UnsupportedSchemaException(path + ".required", "required must be a list of property names."));
        }
        if (!s.TryGetProperty("properties", out var props))
        {
            if (required.Count > 0) throw new UnsupportedSchemaException(path + ".required", "required names properties that are not declared in properties.");
            return null;
        }
        if (props.ValueKind != JsonValueKind.Object) throw new UnsupportedSchemaException(path + ".properties", "properties must be an object.");
        var list = props.EnumerateObject().Select(p => new SchemaProperty(p.Name, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(p.Name, Compact)),
            Node(p.Value, $"{path}.properties.{p.Name}"), required.Contains(p.Name))).ToList();
        if (list.Count > MaxProperties) throw new UnsupportedSchemaException(path + ".properties", $"At most {MaxProperties} properties per object can be enforced.");
        var missing = required.FirstOrDefault(n => list.All(p => p.Name != n));
        if (missing is not null) throw new UnsupportedSchemaException(path + ".required", $"required names '{missing}', which is not declared in properties.");
        return list;
    }

    private static int? Count(JsonElement s, string name, string path)
    {
        if (!s.TryGetProperty(name, out var v)) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) && n >= 0 ? n
            : throw new UnsupportedSchemaException($"{path}.{name}", $"{name} must be a non-negative integer.");
    }
}
