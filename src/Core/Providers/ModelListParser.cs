using System.Text.Json;

namespace MonkeyCoder.Core.Providers;

/// <summary>
/// Reads the context window each model reports in a provider's model list (the body of the
/// health probe's <c>GET …/models</c>). Where the API reports none, the model is absent from the
/// result and its configured (or default) window stays.
/// <list type="bullet">
/// <item>OpenAI-compatible <c>{"data":[{"id":…}]}</c>: vLLM's <c>max_model_len</c>; OpenRouter's,
/// Together's and others' <c>context_length</c>; Groq's <c>context_window</c>; LM Studio's
/// <c>max_context_length</c>. OpenAI's own list and Anthropic's (same shape) report none.</item>
/// <item>Gemini <c>{"models":[{"name":"models/…","inputTokenLimit":…}]}</c>: the input limit
/// (the output limit is separate, so the input limit is the conservative window).</item>
/// </list>
/// </summary>
internal static class ModelListParser
{
    private static readonly string[] WindowFields = ["max_model_len", "context_length", "context_window", "max_context_length"];

    /// <summary>Model id → reported window, for models that report a positive one. Never throws on bad JSON: returns empty.</summary>
    public static IReadOnlyDictionary<string, int> ContextWindows(ReadOnlySpan<byte> json)
    {
        var windows = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowTrailingCommas = true });
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return windows;
            }

            if (root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
            {
                foreach (var model in data.EnumerateArray())
                {
                    if (Id(model, "id") is { } id && FirstWindow(model) is { } window)
                    {
                        windows[id] = window;
                    }
                }
            }

            if (root.TryGetProperty("models", out var models) && models.ValueKind == JsonValueKind.Array)
            {
                foreach (var model in models.EnumerateArray())
                {
                    if (Id(model, "name") is { } name && Positive(model, "inputTokenLimit") is { } window)
                    {
                        // Gemini names models "models/gemini-2.5-pro"; requests and the catalog use the bare id.
                        windows[name.StartsWith("models/", StringComparison.Ordinal) ? name["models/".Length..] : name] = window;
                    }
                }
            }
        }
        catch (JsonException)
        {
            windows.Clear();
        }

        return windows;
    }

    private static string? Id(JsonElement model, string property) =>
        model.ValueKind == JsonValueKind.Object && model.TryGetProperty(property, out var id) && id.ValueKind == JsonValueKind.String
            && id.GetString() is { Length: > 0 } value ? value : null;

    private static int? FirstWindow(JsonElement model)
    {
        foreach (var field in WindowFields)
        {
            if (Positive(model, field) is { } window)
            {
                return window;
            }
        }

        return null;
    }

    private static int? Positive(JsonElement model, string property) =>
        model.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number
            && value.TryGetInt64(out var n) && n > 0 ? (int)Math.Min(n, int.MaxValue) : null;
}
