using System.Text.Json;

namespace MonkeyCoder.Core.Providers.Gemini;

/// <summary>
/// Writes the body of <c>generateContent</c> from a provider-neutral request: system turns into
/// <c>systemInstruction</c>, tools as <c>functionDeclarations</c> (schemas reduced to Gemini's OpenAPI subset by
/// <see cref="GeminiSchema"/>), tool choice as <c>toolConfig.functionCallingConfig</c>, assistant tool calls as
/// <c>functionCall</c> parts, tool results as <c>functionResponse</c> parts, images as <c>inlineData</c> /
/// <c>fileData</c>, and the sampling and format options in <c>generationConfig</c>. Consecutive turns of one
/// role are merged into one content: Gemini wants user and model turns to alternate.
/// </summary>
internal static class GeminiRequestBody
{
    /// <summary>Google's documented stand-in for a thought signature a replayed function call lost.</summary>
    public const string SkipThoughtSignature = "skip_thought_signature_validator";

    public static void Write(Utf8JsonWriter json, ProviderRequest request, string provider)
    {
        json.WriteStartObject();
        var system = string.Join("\n\n", request.Messages.Where(m => m.Role == ChatRole.System).Select(m => m.Content));
        if (system.Length > 0)
        {
            json.WriteStartObject("systemInstruction");
            json.WriteStartArray("parts");
            json.WriteStartObject();
            json.WriteString("text", system);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        WriteContents(json, request.Messages, provider);
        WriteTools(json, request, provider);
        WriteGenerationConfig(json, request, provider);
        json.WriteEndObject();
    }

    private static void WriteContents(Utf8JsonWriter json, IReadOnlyList<ChatMessage> messages, string provider)
    {
        // Gemini's functionResponse names the function, not the call: recover it from the call when the
        // result does not carry it (OpenAI's tool messages name only the call id).
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var call in messages.SelectMany(m => m.ToolCalls))
        {
            names.TryAdd(call.Id, call.Name);
        }

        json.WriteStartArray("contents");
        string? role = null;
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.System)
            {
                continue;
            }

            var next = message.Role == ChatRole.Assistant ? "model" : "user";
            if (next != role)
            {
                if (role is not null)
                {
                    json.WriteEndArray();
                    json.WriteEndObject();
                }

                json.WriteStartObject();
                json.WriteString("role", next);
                json.WriteStartArray("parts");
                role = next;
            }

            WriteParts(json, message, names, provider);
        }

        if (role is not null)
        {
            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteParts(Utf8JsonWriter json, ChatMessage message, Dictionary<string, string> names, string provider)
    {
        if (message.Role == ChatRole.Tool)
        {
            var name = message.ToolName is { Length: > 0 } named ? named
                : message.ToolCallId is { } id && names.TryGetValue(id, out var found) ? found
                : throw new ProviderException(provider, ProviderErrorClass.InvalidRequest,
                    $"The tool result for call '{message.ToolCallId}' names no function and no earlier tool call has that id; Gemini's functionResponse needs the name.");
            json.WriteStartObject();
            json.WriteStartObject("functionResponse");
            json.WriteString("name", name);
            json.WriteStartObject("response");

            // Gemini takes any object; "result" / "error" are the keys its documentation uses.
            json.WriteString(message.ToolError ? "error" : "result", message.Content);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
            return;
        }

        var wrote = false;
        if (message.Content.Length > 0)
        {
            json.WriteStartObject();
            json.WriteString("text", message.Content);
            json.WriteEndObject();
            wrote = true;
        }

        foreach (var image in message.Images)
        {
            json.WriteStartObject();
            if (image.IsInline)
            {
                json.WriteStartObject("inlineData");
                json.WriteString("mimeType", image.MediaType ?? throw new ProviderException(provider, ProviderErrorClass.InvalidRequest,
                    "An inline image has no media type; Gemini's inlineData needs mimeType."));
                json.WriteString("data", image.Base64Data);
            }
            else
            {
                json.WriteStartObject("fileData");
                if ((image.MediaType ?? GuessImageType(image.Url)) is { } mime)
                {
                    json.WriteString("mimeType", mime);
                }

                json.WriteString("fileUri", image.Url);
            }

            json.WriteEndObject();
            json.WriteEndObject();
            wrote = true;
        }

        for (var i = 0; i < message.ToolCalls.Count; i++)
        {
            var call = message.ToolCalls[i];
            var args = ToolJson.ParseObject(call.ArgumentsJson, provider, $"the arguments of tool call '{call.Id}'");
            json.WriteStartObject();
            json.WriteStartObject("functionCall");
            json.WriteString("name", call.Name);
            json.WritePropertyName("args");
            args.WriteTo(json);
            json.WriteEndObject();
            if (i == 0)
            {
                // Gemini 3 refuses a replayed function call without the thought signature it was sent with;
                // ours are not kept (the call may come from another model), and this is the value Google
                // documents for such histories. Older models ignore the field.
                json.WriteString("thoughtSignature", SkipThoughtSignature);
            }

            json.WriteEndObject();
            wrote = true;
        }

        if (!wrote)
        {
            // Gemini refuses a content without parts, and a part without data.
            json.WriteStartObject();
            json.WriteString("text", " ");
            json.WriteEndObject();
        }
    }

    /// <summary>The image type from a URL's extension (Gemini's fileData wants a mimeType); null when unknown.</summary>
    internal static string? GuessImageType(string? url)
    {
        var path = url is not null && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.AbsolutePath : url ?? "";
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".png" => "image/png",
            ".jpg" or ".jpeg" => "image/jpeg",
            ".webp" => "image/webp",
            ".gif" => "image/gif",
            ".heic" => "image/heic",
            ".heif" => "image/heif",
            _ => null,
        };
    }

    private static void WriteTools(Utf8JsonWriter json, ProviderRequest request, string provider)
    {
        if (request.Tools.Count == 0)
        {
            return;
        }

        json.WriteStartArray("tools");
        json.WriteStartObject();
        json.WriteStartArray("functionDeclarations");
        foreach (var tool in request.Tools)
        {
            json.WriteStartObject();
            json.WriteString("name", tool.Name);
            if (!string.IsNullOrEmpty(tool.Description))
            {
                json.WriteString("description", tool.Description);
            }

            var schema = ToolJson.ParseObject(tool.ParametersJsonSchema, provider, $"the parameter schema of tool '{tool.Name}'");

            // A function without parameters has none (Gemini refuses an object schema without properties).
            if (schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object && properties.EnumerateObject().Any())
            {
                json.WritePropertyName("parameters");
                GeminiSchema.Write(json, schema);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndArray();

        var choice = request.ToolChoice;
        if (choice.Kind == ToolChoiceKind.Auto)
        {
            return;
        }

        json.WriteStartObject("toolConfig");
        json.WriteStartObject("functionCallingConfig");
        json.WriteString("mode", choice.Kind switch
        {
            ToolChoiceKind.None => "NONE",
            _ => "ANY",
        });
        if (choice.Kind == ToolChoiceKind.Named)
        {
            json.WriteStartArray("allowedFunctionNames");
            json.WriteStringValue(choice.Name);
            json.WriteEndArray();
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteGenerationConfig(Utf8JsonWriter json, ProviderRequest request, string provider)
    {
        var sampling = request.Sampling;
        json.WriteStartObject("generationConfig");
        json.WriteNumber("maxOutputTokens", Math.Max(1, request.MaxTokens));
        if (request.Temperature is { } temperature)
        {
            json.WriteNumber("temperature", temperature);
        }

        if (sampling.TopP is { } topP)
        {
            json.WriteNumber("topP", topP);
        }

        if (sampling.Stop.Count > 0)
        {
            json.WriteStartArray("stopSequences");
            foreach (var stop in sampling.Stop)
            {
                json.WriteStringValue(stop);
            }

            json.WriteEndArray();
        }

        if (sampling.Seed is { } seed)
        {
            // Gemini's seed is an int32; a larger one is folded into range rather than refused.
            json.WriteNumber("seed", unchecked((int)seed));
        }

        if (sampling.PresencePenalty is { } presence)
        {
            json.WriteNumber("presencePenalty", presence);
        }

        if (sampling.FrequencyPenalty is { } frequency)
        {
            json.WriteNumber("frequencyPenalty", frequency);
        }

        switch (sampling.ResponseFormat)
        {
            case { Kind: ResponseFormatKind.JsonObject }:
                json.WriteString("responseMimeType", "application/json");
                break;
            case { Kind: ResponseFormatKind.JsonSchema } format:
                json.WriteString("responseMimeType", "application/json");
                if (!string.IsNullOrWhiteSpace(format.SchemaJson))
                {
                    json.WritePropertyName("responseSchema");
                    GeminiSchema.Write(json, ToolJson.ParseObject(format.SchemaJson, provider, "the response_format JSON schema"));
                }

                break;
        }

        json.WriteEndObject();
    }
}
