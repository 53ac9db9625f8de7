using System.Text.Json;

namespace MonkeyCoder.Core.Providers.Anthropic;

/// <summary>
/// Writes the body of <c>POST /v1/messages</c> from a provider-neutral request: system hoisted into
/// <c>system</c>, tool definitions and tool choice, assistant tool calls as <c>tool_use</c> blocks, tool
/// results as <c>tool_result</c> blocks of one user turn, images as <c>image</c> blocks, cache breakpoints
/// as <c>cache_control</c>, and the sampling options Anthropic has. What Anthropic cannot honour (seed,
/// penalties, JSON response formats) is refused here: the router already filters on
/// <see cref="CatalogModel.Features"/>, so reaching this is a caller bypassing it, and silently dropping
/// the option would return an answer the caller did not ask for.
/// </summary>
internal static class AnthropicRequestBody
{
    /// <summary>Used when the catalog gives no output limit.</summary>
    public const int DefaultMaxTokens = 4096;

    /// <summary><c>max_tokens</c> within 1 and the model's output limit.</summary>
    public static int ClampMaxTokens(int requested, CatalogModel model)
    {
        var limit = model.MaxOutputTokens > 0 ? model.MaxOutputTokens : DefaultMaxTokens;
        return Math.Clamp(requested > 0 ? requested : limit, 1, limit);
    }

    /// <summary>Throws a non-retryable <see cref="ProviderException"/> for options Anthropic does not have.</summary>
    public static void ThrowIfUnsupported(ProviderRequest request, string provider)
    {
        var sampling = request.Sampling;
        string? option = sampling.Seed is not null ? "seed"
            : sampling.PresencePenalty is not null ? "presence_penalty"
            : sampling.FrequencyPenalty is not null ? "frequency_penalty"
            : sampling.ResponseFormat is { Kind: ResponseFormatKind.JsonObject or ResponseFormatKind.JsonSchema } ? "response_format"
            : null;
        if (option is not null)
        {
            throw new ProviderException(provider, ProviderErrorClass.InvalidRequest,
                $"The Anthropic Messages API has no '{option}'; {request.Model.Key} cannot honour it.") { ProviderCode = "unsupported_option" };
        }
    }

    public static void Write(Utf8JsonWriter json, ProviderRequest request, bool stream, string provider)
    {
        ThrowIfUnsupported(request, provider);
        json.WriteStartObject();
        json.WriteString("model", request.Model.Id);
        json.WriteNumber("max_tokens", ClampMaxTokens(request.MaxTokens, request.Model));
        WriteSystem(json, request.Messages);
        WriteMessages(json, request.Messages, provider);
        WriteTools(json, request, provider);

        if (request.Temperature is { } temperature && !request.Model.Reasoning)
        {
            // Anthropic's range is 0–1; the API's is 0–2.
            json.WriteNumber("temperature", Math.Clamp(temperature, 0, 1));
        }

        var sampling = request.Sampling;
        if (sampling.TopP is { } topP)
        {
            json.WriteNumber("top_p", topP);
        }

        if (sampling.Stop.Count > 0)
        {
            json.WriteStartArray("stop_sequences");
            foreach (var stop in sampling.Stop)
            {
                json.WriteStringValue(stop);
            }

            json.WriteEndArray();
        }

        if (!string.IsNullOrEmpty(sampling.User))
        {
            json.WriteStartObject("metadata");
            json.WriteString("user_id", sampling.User);
            json.WriteEndObject();
        }

        if (stream)
        {
            json.WriteBoolean("stream", true);
        }

        json.WriteEndObject();
    }

    /// <summary>
    /// A plain string when no system turn asks for a cache breakpoint (the common case, and what older
    /// proxies expect); otherwise text blocks, one per system turn, the marked ones with <c>cache_control</c>.
    /// </summary>
    private static void WriteSystem(Utf8JsonWriter json, IReadOnlyList<ChatMessage> messages)
    {
        var system = messages.Where(m => m.Role == ChatRole.System && m.Content.Length > 0).ToList();
        if (system.Count == 0)
        {
            return;
        }

        if (!system.Any(m => m.CacheBreakpoint))
        {
            json.WriteString("system", string.Join("\n\n", system.Select(m => m.Content)));
            return;
        }

        json.WriteStartArray("system");
        foreach (var message in system)
        {
            json.WriteStartObject();
            json.WriteString("type", "text");
            json.WriteString("text", message.Content);
            if (message.CacheBreakpoint)
            {
                WriteCacheControl(json);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    /// <summary>
    /// Consecutive tool results become one user turn of <c>tool_result</c> blocks (Anthropic requires every
    /// result of an assistant turn's calls in the next user turn); a user turn that follows them joins that turn
    /// after the results, as Anthropic requires the results to come first.
    /// </summary>
    private static void WriteMessages(Utf8JsonWriter json, IReadOnlyList<ChatMessage> messages, string provider)
    {
        json.WriteStartArray("messages");
        var turn = new List<ChatMessage>();
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.System)
            {
                continue;
            }

            var joins = turn.Count > 0 && turn[^1].Role == ChatRole.Tool && message.Role is ChatRole.Tool or ChatRole.User;
            if (!joins && turn.Count > 0)
            {
                WriteTurn(json, turn, provider);
                turn.Clear();
            }

            turn.Add(message);
        }

        if (turn.Count > 0)
        {
            WriteTurn(json, turn, provider);
        }

        json.WriteEndArray();
    }

    private static void WriteTurn(Utf8JsonWriter json, List<ChatMessage> turn, string provider)
    {
        json.WriteStartObject();
        json.WriteString("role", turn[0].Role == ChatRole.Assistant ? "assistant" : "user");
        var only = turn.Count == 1 ? turn[0] : null;
        if (only is not null && only.Role != ChatRole.Tool && only.Images.Count == 0 && only.ToolCalls.Count == 0 && !only.CacheBreakpoint)
        {
            // Plain text stays a string: the shape every Anthropic-compatible server takes.
            json.WriteString("content", only.Content);
        }
        else
        {
            json.WriteStartArray("content");
            foreach (var message in turn)
            {
                WriteBlocks(json, message, alone: turn.Count == 1, provider);
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void WriteBlocks(Utf8JsonWriter json, ChatMessage message, bool alone, string provider)
    {
        // cache_control goes on the turn's last block; collect which block that is by writing in order.
        var blocks = new List<Action>();
        if (message.Role == ChatRole.Tool)
        {
            if (string.IsNullOrEmpty(message.ToolCallId))
            {
                throw new ProviderException(provider, ProviderErrorClass.InvalidRequest, "A tool result has no tool call id; Anthropic's tool_result needs tool_use_id.");
            }

            blocks.Add(() =>
            {
                json.WriteString("type", "tool_result");
                json.WriteString("tool_use_id", message.ToolCallId);
                json.WriteString("content", message.Content);
                if (message.ToolError)
                {
                    json.WriteBoolean("is_error", true);
                }
            });
        }
        else if (message.Content.Length > 0)
        {
            // Anthropic refuses empty text blocks.
            blocks.Add(() =>
            {
                json.WriteString("type", "text");
                json.WriteString("text", message.Content);
            });
        }

        foreach (var image in message.Images)
        {
            blocks.Add(() => WriteImage(json, image, provider));
        }

        foreach (var call in message.ToolCalls)
        {
            var input = ToolJson.ParseObject(call.ArgumentsJson, provider, $"the arguments of tool call '{call.Id}'");
            blocks.Add(() =>
            {
                json.WriteString("type", "tool_use");
                json.WriteString("id", call.Id);
                json.WriteString("name", call.Name);
                json.WritePropertyName("input");
                input.WriteTo(json);
            });
        }

        if (blocks.Count == 0 && alone)
        {
            // A turn with nothing in it (an empty text marked as a cache breakpoint): Anthropic refuses empty and
            // whitespace-only text blocks, so it gets the placeholder Claude Code itself sends for empty turns.
            blocks.Add(() =>
            {
                json.WriteString("type", "text");
                json.WriteString("text", "(no content)");
            });
        }

        for (var i = 0; i < blocks.Count; i++)
        {
            json.WriteStartObject();
            blocks[i]();
            if (message.CacheBreakpoint && i == blocks.Count - 1)
            {
                WriteCacheControl(json);
            }

            json.WriteEndObject();
        }
    }

    private static void WriteImage(Utf8JsonWriter json, ImagePart image, string provider)
    {
        json.WriteString("type", "image");
        json.WriteStartObject("source");
        if (image.IsInline)
        {
            if (string.IsNullOrEmpty(image.MediaType))
            {
                throw new ProviderException(provider, ProviderErrorClass.InvalidRequest, "An inline image has no media type; Anthropic's base64 source needs media_type.");
            }

            json.WriteString("type", "base64");
            json.WriteString("media_type", image.MediaType);
            json.WriteString("data", image.Base64Data);
        }
        else
        {
            json.WriteString("type", "url");
            json.WriteString("url", image.Url);
        }

        json.WriteEndObject();
    }

    private static void WriteTools(Utf8JsonWriter json, ProviderRequest request, string provider)
    {
        if (request.Tools.Count == 0)
        {
            return;
        }

        json.WriteStartArray("tools");
        foreach (var tool in request.Tools)
        {
            var schema = ToolJson.ParseObject(tool.ParametersJsonSchema, provider, $"the parameter schema of tool '{tool.Name}'");
            json.WriteStartObject();
            json.WriteString("name", tool.Name);
            if (!string.IsNullOrEmpty(tool.Description))
            {
                json.WriteString("description", tool.Description);
            }

            json.WritePropertyName("input_schema");
            schema.WriteTo(json);
            if (tool.CacheBreakpoint)
            {
                WriteCacheControl(json);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();

        var choice = request.ToolChoice;
        var serial = request.ParallelToolCalls == false && choice.Kind != ToolChoiceKind.None;
        if (choice.Kind == ToolChoiceKind.Auto && !serial)
        {
            return;
        }

        json.WriteStartObject("tool_choice");
        switch (choice.Kind)
        {
            case ToolChoiceKind.None:
                json.WriteString("type", "none");
                break;
            case ToolChoiceKind.Required:
                json.WriteString("type", "any");
                break;
            case ToolChoiceKind.Named:
                json.WriteString("type", "tool");
                json.WriteString("name", choice.Name);
                break;
            default:
                json.WriteString("type", "auto");
                break;
        }

        if (serial)
        {
            json.WriteBoolean("disable_parallel_tool_use", true);
        }

        json.WriteEndObject();
    }

    private static void WriteCacheControl(Utf8JsonWriter json)
    {
        json.WriteStartObject("cache_control");
        json.WriteString("type", "ephemeral");
        json.WriteEndObject();
    }
}
