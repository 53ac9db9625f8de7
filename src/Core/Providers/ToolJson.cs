using System.Text.Json;

namespace MonkeyCoder.Core.Providers;

/// <summary>
/// Tool arguments and schemas travel as JSON text (<see cref="ToolCall.ArgumentsJson"/>,
/// <see cref="ToolDefinition.ParametersJsonSchema"/>); Anthropic and Gemini embed them as objects.
/// </summary>
internal static class ToolJson
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>
    /// The text as a JSON object (an empty text is <c>{}</c>: a call without arguments); anything else is
    /// the caller's error, refused as a non-retryable invalid request rather than sent on to fail upstream.
    /// </summary>
    public static JsonElement ParseObject(string? text, string provider, string what)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return EmptyObject;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document.RootElement.Clone();
            }
        }
        catch (JsonException)
        {
        }

        throw new ProviderException(provider, ProviderErrorClass.InvalidRequest, $"{char.ToUpperInvariant(what[0])}{what[1..]} is not a JSON object.");
    }
}
