using System.Text.Json;

namespace MonkeyCoder.Core.Providers.Gemini;

/// <summary>
/// Rewrites a JSON schema (as OpenAI and Anthropic tools carry it) into the OpenAPI subset Gemini's
/// <c>Schema</c> accepts in <c>parameters</c> and <c>responseSchema</c>, which answers 400 to any key it
/// does not know. Kept: type, format (only the ones Gemini has), title, description, nullable, enum,
/// properties, required, items, anyOf, min/max items, properties, length, pattern, minimum, maximum,
/// propertyOrdering, example, default. Translated: a type list with "null" → the other type plus
/// <c>nullable: true</c>; <c>const</c> → a one-value <c>enum</c>; <c>oneOf</c> → <c>anyOf</c>; local
/// <c>$ref</c>s (<c>#/$defs/…</c>, <c>#/definitions/…</c>) → inlined (cycles cut at a depth).
/// Dropped: everything else, e.g. <c>$schema</c>, <c>$id</c>, <c>additionalProperties</c>, <c>strict</c>,
/// <c>examples</c>, <c>allOf</c>. Dropping only loosens the constraint the model sees; it never refuses a
/// valid tool.
/// </summary>
internal static class GeminiSchema
{
    private const int MaxDepth = 16;

    private static readonly HashSet<string> Copied = new(StringComparer.Ordinal)
    {
        "title", "description", "nullable", "required", "minItems", "maxItems", "minProperties", "maxProperties",
        "minLength", "maxLength", "pattern", "minimum", "maximum", "propertyOrdering", "example", "default",
    };

    private static readonly HashSet<string> Formats = new(StringComparer.Ordinal) { "enum", "date-time", "int32", "int64", "float", "double" };

    public static void Write(Utf8JsonWriter json, JsonElement schema) => Write(json, schema, schema, 0);

    private static void Write(Utf8JsonWriter json, JsonElement schema, JsonElement root, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > MaxDepth)
        {
            // true / false / a cycle cut: any value.
            json.WriteStartObject();
            json.WriteEndObject();
            return;
        }

        if (schema.TryGetProperty("$ref", out var reference) && Resolve(root, reference.GetString()) is { } target)
        {
            Write(json, target, root, depth + 1);
            return;
        }

        json.WriteStartObject();
        var nullable = false;
        foreach (var property in schema.EnumerateObject())
        {
            switch (property.Name)
            {
                case "type" when property.Value.ValueKind == JsonValueKind.String:
                    json.WriteString("type", property.Value.GetString());
                    break;
                case "type" when property.Value.ValueKind == JsonValueKind.Array:
                    var types = property.Value.EnumerateArray().Select(t => t.GetString()).Where(t => t is not null).ToList();
                    nullable = types.Contains("null");
                    if (types.FirstOrDefault(t => t != "null") is { } type)
                    {
                        json.WriteString("type", type);
                    }

                    break;
                case "format" when property.Value.ValueKind == JsonValueKind.String && Formats.Contains(property.Value.GetString()!):
                    json.WriteString("format", property.Value.GetString());
                    break;
                case "enum" when property.Value.ValueKind == JsonValueKind.Array:
                    json.WriteStartArray("enum");
                    foreach (var value in property.Value.EnumerateArray().Where(v => v.ValueKind != JsonValueKind.Null))
                    {
                        // Gemini's enum is a list of strings.
                        json.WriteStringValue(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText());
                    }

                    json.WriteEndArray();
                    break;
                case "const" when !schema.TryGetProperty("enum", out _):
                    json.WriteStartArray("enum");
                    json.WriteStringValue(property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText());
                    json.WriteEndArray();
                    break;
                case "properties" when property.Value.ValueKind == JsonValueKind.Object:
                    json.WriteStartObject("properties");
                    foreach (var child in property.Value.EnumerateObject())
                    {
                        json.WritePropertyName(child.Name);
                        Write(json, child.Value, root, depth + 1);
                    }

                    json.WriteEndObject();
                    break;
                case "items":
                    json.WritePropertyName("items");
                    Write(json, property.Value, root, depth + 1);
                    break;
                case "anyOf" or "oneOf" when property.Value.ValueKind == JsonValueKind.Array && !(property.Name == "oneOf" && schema.TryGetProperty("anyOf", out _)):
                    var options = property.Value.EnumerateArray().ToList();
                    if (options.RemoveAll(IsNullType) > 0)
                    {
                        nullable = true;
                    }

                    if (options.Count > 0)
                    {
                        json.WriteStartArray("anyOf");
                        foreach (var option in options)
                        {
                            Write(json, option, root, depth + 1);
                        }

                        json.WriteEndArray();
                    }

                    break;
                case "nullable":
                    nullable |= property.Value.ValueKind == JsonValueKind.True;
                    break;
                default:
                    if (Copied.Contains(property.Name))
                    {
                        json.WritePropertyName(property.Name);
                        property.Value.WriteTo(json);
                    }

                    break;
            }
        }

        if (nullable)
        {
            json.WriteBoolean("nullable", true);
        }

        json.WriteEndObject();
    }

    private static bool IsNullType(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("type", out var type)
        && type.ValueKind == JsonValueKind.String && type.GetString() == "null";

    /// <summary>A local reference (<c>#</c>, <c>#/$defs/name</c>, <c>#/definitions/name</c>, any JSON pointer into the root); null otherwise.</summary>
    private static JsonElement? Resolve(JsonElement root, string? reference)
    {
        if (reference == "#")
        {
            return root;
        }

        if (reference is null || !reference.StartsWith("#/", StringComparison.Ordinal))
        {
            return null;
        }

        var current = root;
        foreach (var segment in reference[2..].Split('/'))
        {
            var name = Uri.UnescapeDataString(segment).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
            {
                return null;
            }
        }

        return current;
    }
}
