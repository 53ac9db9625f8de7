using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Rpc;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Edge.Anthropic;

/// <summary>
/// Maps an Anthropic Messages request onto a Monkey Coder task (task type CHAT): <c>system</c> becomes
/// the custom instructions; user turns' text and image blocks become user turns, their
/// <c>tool_result</c> blocks tool turns (before the turn's text, as Anthropic orders them); assistant
/// turns' <c>tool_use</c> blocks become tool calls; <c>cache_control</c> on a block marks its turn as
/// a cache breakpoint. The last user turn is the prompt, unless it holds only tool results (then the
/// task ends with them). What cannot be honoured (top_k, server tools, documents,
/// an assistant prefill) is refused with the field named, never ignored. Collects every violation and
/// throws one INVALID_ARGUMENT through <see cref="RpcErrors"/>, as every edge reports errors.
/// </summary>
internal static class AnthropicRequestMapper
{
    /// <summary>Images per request; Anthropic's own API accepts up to 100, agents send a few.</summary>
    public const int MaxImages = 20;

    /// <summary>Decoded bytes of one inline image (Anthropic's own limit is 5 MB).</summary>
    public const long MaxImageBytes = 5 * 1024 * 1024;

    public const int MaxTools = 128;

    public const int MaxStopSequences = 16;

    private static readonly string[] ImageMediaTypes = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    /// <summary>Maps <paramref name="request"/>; <c>max_tokens</c> is required unless <paramref name="countOnly"/> (count_tokens).</summary>
    public static MessagesCall Map(MessagesRequest request, bool countOnly = false)
    {
        var violations = new List<BadRequest.Types.FieldViolation>();
        void Violation(string field, string description) =>
            violations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

        var model = request.Model?.Trim() ?? "";
        if (model.Length == 0)
        {
            Violation("model", "Required: a model id from GET /anthropic/v1/models, or \"auto\" to let Monkey Coder route.");
        }

        if (request.MaxTokens is null && !countOnly)
        {
            Violation("max_tokens", "Required: the maximum number of tokens to generate.");
        }
        else if (request.MaxTokens is { } max && (max < 1 || max > TaskRequest.MaxMaxTokens))
        {
            Violation("max_tokens", string.Create(CultureInfo.InvariantCulture, $"Must be between 1 and {TaskRequest.MaxMaxTokens}; got {max}."));
        }

        var system = SystemText(request.System, Violation, out var systemBreakpoint);
        var turns = new List<ChatMessage>();
        var toolNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var messages = request.Messages ?? [];
        if (messages.Count == 0)
        {
            Violation("messages", "Required: at least one message.");
        }

        var inlineSystem = new StringBuilder();
        var inlineSystemBreakpoint = false;
        var imageCount = 0;
        var lastUserText = "";
        var lastIsToolResultsOnly = false;
        for (var i = 0; i < messages.Count; i++)
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"messages[{i}]");
            if (messages[i] is not { } message)
            {
                Violation(field, "Must be an object.");
                continue;
            }

            var blocks = Blocks(message.Content, field + ".content", Violation);
            switch (message.Role)
            {
                case "user":
                    {
                        var text = new StringBuilder();
                        var images = new List<ImagePart>();
                        var results = new List<ChatMessage>();
                        var breakpoint = false;
                        foreach (var (block, type, blockField) in blocks)
                        {
                            breakpoint |= HasCacheControl(block);
                            switch (type)
                            {
                                case "text":
                                    AppendText(text, block, blockField, Violation);
                                    break;
                                case "image":
                                    if (Image(block, blockField, Violation) is { } image)
                                    {
                                        images.Add(image);
                                        imageCount++;
                                    }

                                    break;
                                case "tool_result":
                                    if (ToolResult(block, blockField, toolNames, Violation) is { } result)
                                    {
                                        results.Add(result with { CacheBreakpoint = HasCacheControl(block) });
                                    }

                                    break;
                                default:
                                    Violation(blockField + ".type", $"User content blocks must be text, image or tool_result; got '{type}'.");
                                    break;
                            }
                        }

                        turns.AddRange(results);
                        var hasText = text.Length > 0 || images.Count > 0;
                        if (hasText)
                        {
                            turns.Add(new ChatMessage(ChatRole.User, text.ToString()) { Images = images, CacheBreakpoint = breakpoint });
                        }

                        lastIsToolResultsOnly = results.Count > 0 && !hasText;
                        if (hasText)
                        {
                            lastUserText = text.ToString();
                        }

                        break;
                    }

                case "assistant":
                    {
                        var text = new StringBuilder();
                        var calls = new List<ToolCall>();
                        var breakpoint = false;
                        foreach (var (block, type, blockField) in blocks)
                        {
                            breakpoint |= HasCacheControl(block);
                            switch (type)
                            {
                                case "text":
                                    AppendText(text, block, blockField, Violation);
                                    break;
                                case "tool_use":
                                    if (ToolUse(block, blockField, Violation) is { } call)
                                    {
                                        calls.Add(call);
                                        toolNames[call.Id] = call.Name;
                                    }

                                    break;
                                default:
                                    Violation(blockField + ".type", $"Assistant content blocks must be text or tool_use; got '{type}'.");
                                    break;
                            }
                        }

                        turns.Add(new ChatMessage(ChatRole.Assistant, text.ToString()) { ToolCalls = calls, CacheBreakpoint = breakpoint });
                        lastIsToolResultsOnly = false;
                        break;
                    }

                case "system":
                    {
                        // Claude Code sends instructions as system-role messages between turns (text blocks,
                        // often with a cache breakpoint). They join the system prompt, in order: not every
                        // provider takes system text between turns, and they instruct rather than converse.
                        foreach (var (block, type, blockField) in blocks)
                        {
                            if (type != "text")
                            {
                                Violation(blockField + ".type", $"System content blocks must be text; got '{type}'.");
                                continue;
                            }

                            var piece = new StringBuilder();
                            AppendText(piece, block, blockField, Violation);
                            if (piece.Length > 0)
                            {
                                inlineSystem.Append(inlineSystem.Length > 0 ? "\n\n" : "").Append(piece);
                            }

                            inlineSystemBreakpoint |= HasCacheControl(block);
                        }

                        break;
                    }

                default:
                    Violation(field + ".role", $"Must be user, assistant or system; got '{message.Role}'.");
                    break;
            }
        }

        if (imageCount > MaxImages)
        {
            Violation("messages", string.Create(CultureInfo.InvariantCulture, $"At most {MaxImages} images per request; got {imageCount}."));
        }

        var prompt = "";
        IReadOnlyList<ImagePart> promptImages = [];
        var promptBreakpoint = false;
        var endsWithToolResults = false;
        // System-role messages joined the system prompt: the conversation ends at the last other message.
        var lastIndex = messages.Count - 1;
        while (lastIndex > 0 && messages[lastIndex]?.Role == "system")
        {
            lastIndex--;
        }

        var lastField = string.Create(CultureInfo.InvariantCulture, $"messages[{Math.Max(0, lastIndex)}]");
        if (lastIndex >= 0 && messages[lastIndex] is { } last)
        {
            if (last.Role != "user")
            {
                Violation(lastField + ".role", "The last message must come from the user (an assistant prefill is not supported).");
            }
            else if (lastIsToolResultsOnly)
            {
                // History keeps every turn and ends with the results; the prompt is the last user text, for analysis only.
                endsWithToolResults = true;
                prompt = lastUserText;
            }
            else if (turns.Count > 0 && turns[^1].Role == ChatRole.User)
            {
                prompt = turns[^1].Content;
                promptImages = turns[^1].Images;
                // Agents put their last breakpoint on the prompt turn: it travels as the task's prompt breakpoint.
                promptBreakpoint = turns[^1].CacheBreakpoint;
                turns.RemoveAt(turns.Count - 1);
                if (string.IsNullOrWhiteSpace(prompt) && promptImages.Count == 0)
                {
                    Violation(lastField + ".content", "The last user message must not be empty.");
                }
                else if (prompt.Length > TaskRequestValidator.MaxPromptChars)
                {
                    Violation(lastField + ".content",
                        string.Create(CultureInfo.InvariantCulture, $"At most {TaskRequestValidator.MaxPromptChars} characters; got {prompt.Length}."));
                }
            }
            else
            {
                Violation(lastField + ".content", "The last user message must not be empty.");
            }
        }

        var tools = Tools(request.Tools, Violation);
        var (toolChoice, parallel) = ToolChoiceOf(request.ToolChoice, tools, Violation);

        if (request.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 1))
        {
            Violation("temperature", string.Create(CultureInfo.InvariantCulture, $"Must be between 0 and 1; got {t}."));
        }

        if (request.TopP is { } p && (double.IsNaN(p) || p <= 0 || p > 1))
        {
            Violation("top_p", string.Create(CultureInfo.InvariantCulture, $"Must be greater than 0 and at most 1; got {p}."));
        }

        if (request.TopK is not null)
        {
            Violation("top_k", "Not supported: not every provider can sample with top_k. Leave it out, or use temperature or top_p.");
        }

        // Extended thinking is an allowance, not an output the caller can count on (Anthropic's models
        // skip it when they see fit under "adaptive", and answer within any budget under "enabled"):
        // answers here carry no thinking blocks, whichever model answers. Its shape is still checked.
        if (request.Thinking is { ValueKind: JsonValueKind.Object } thinking)
        {
            if (!thinking.TryGetProperty("type", out var thinkingType) || thinkingType.ValueKind != JsonValueKind.String
                || thinkingType.GetString() is not ("adaptive" or "enabled" or "disabled"))
            {
                Violation("thinking.type", "Must be \"adaptive\", \"enabled\" or \"disabled\".");
            }
        }
        else if (request.Thinking is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) })
        {
            Violation("thinking", "Must be an object.");
        }

        var stops = new List<string>();
        var listedStops = request.StopSequences ?? [];
        if (listedStops.Count > MaxStopSequences)
        {
            Violation("stop_sequences", string.Create(CultureInfo.InvariantCulture, $"At most {MaxStopSequences}; got {listedStops.Count}."));
        }

        for (var i = 0; i < listedStops.Count; i++)
        {
            if (string.IsNullOrEmpty(listedStops[i]))
            {
                Violation(string.Create(CultureInfo.InvariantCulture, $"stop_sequences[{i}]"), "Must be a non-empty string.");
            }
            else
            {
                stops.Add(listedStops[i]!);
            }
        }

        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(violations);
        }

        if (inlineSystem.Length > 0)
        {
            system = system.Length > 0 ? system + "\n\n" + inlineSystem : inlineSystem.ToString();
            systemBreakpoint |= inlineSystemBreakpoint;
        }

        var sampling = new SamplingOptions { Stop = stops, TopP = request.TopP, User = request.Metadata?.UserId is { Length: > 0 } user ? user : null };
        var task = new TaskRequest
        {
            TaskType = TaskType.Chat,
            Prompt = prompt,
            PromptImages = promptImages,
            History = turns,
            EndsWithToolResults = endsWithToolResults,
            // A caller's system prompt replaces the persona's role text; without one the router picks a persona.
            Persona = system.Length > 0 ? Persona.Custom : Persona.Unspecified,
            CustomInstructions = system,
            SystemCacheBreakpoint = systemBreakpoint,
            PromptCacheBreakpoint = promptBreakpoint,
            MaxTokens = request.MaxTokens ?? TaskRequest.DefaultMaxTokens,
            Temperature = request.Temperature ?? TaskRequest.DefaultTemperature,
            TemperatureSet = request.Temperature is not null,
            CacheBypass = request.CacheBypass == true,
            Tools = tools,
            ToolChoice = toolChoice,
            ParallelToolCalls = parallel,
            Sampling = sampling.IsEmpty ? SamplingOptions.None : sampling,
        };
        return new MessagesCall(task, model, request.Stream == true);
    }

    /// <summary>The system prompt: a string, or text blocks joined by blank lines.</summary>
    private static string SystemText(JsonElement? system, Action<string, string> violation, out bool breakpoint)
    {
        breakpoint = false;
        if (system is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return "";
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            return element.GetString() ?? "";
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            violation("system", "Must be a string or an array of text blocks.");
            return "";
        }

        var text = new StringBuilder();
        var index = 0;
        foreach (var block in element.EnumerateArray())
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"system[{index++}]");
            if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out var type) || type.GetString() != "text"
                || !block.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
            {
                violation(field, "Must be a text block: {\"type\":\"text\",\"text\":…}.");
                continue;
            }

            breakpoint |= HasCacheControl(block);
            if (value.GetString() is { Length: > 0 } piece)
            {
                text.Append(text.Length > 0 ? "\n\n" : "").Append(piece);
            }
        }

        return text.ToString();
    }

    /// <summary>A message's content as blocks: a string is one text block.</summary>
    private static List<(JsonElement Block, string Type, string Field)> Blocks(JsonElement? content, string field, Action<string, string> violation)
    {
        var blocks = new List<(JsonElement, string, string)>();
        if (content is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            violation(field, "Required: a string or an array of content blocks.");
            return blocks;
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            blocks.Add((TextBlock(element.GetString() ?? ""), "text", field));
            return blocks;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            violation(field, "Must be a string or an array of content blocks.");
            return blocks;
        }

        var index = 0;
        foreach (var block in element.EnumerateArray())
        {
            var blockField = string.Create(CultureInfo.InvariantCulture, $"{field}[{index++}]");
            if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                violation(blockField, "Must be an object with a type.");
                continue;
            }

            blocks.Add((block, type.GetString()!, blockField));
        }

        return blocks;
    }

    /// <summary>A string content as the one text block it stands for.</summary>
    private static JsonElement TextBlock(string text)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "text");
            writer.WriteString("text", text);
            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static bool HasCacheControl(JsonElement block) =>
        block.TryGetProperty("cache_control", out var cache) && cache.ValueKind == JsonValueKind.Object;

    private static void AppendText(StringBuilder text, JsonElement block, string field, Action<string, string> violation)
    {
        if (!block.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
        {
            violation(field + ".text", "Required: a string.");
            return;
        }

        text.Append(text.Length > 0 ? "\n" : "").Append(value.GetString());
    }

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ImagePart? Image(JsonElement block, string field, Action<string, string> violation)
    {
        if (!block.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.Object)
        {
            violation(field + ".source", "Required: {\"type\":\"base64\",\"media_type\",\"data\"} or {\"type\":\"url\",\"url\"}.");
            return null;
        }

        switch (StringProperty(source, "type"))
        {
            case "base64":
                {
                    var mediaType = StringProperty(source, "media_type");
                    var data = StringProperty(source, "data");
                    if (mediaType is null || !ImageMediaTypes.Contains(mediaType))
                    {
                        violation(field + ".source.media_type", $"Must be one of {string.Join(", ", ImageMediaTypes)}.");
                        return null;
                    }

                    if (string.IsNullOrEmpty(data))
                    {
                        violation(field + ".source.data", "Required: the image as base64.");
                        return null;
                    }

                    var image = new ImagePart { MediaType = mediaType, Base64Data = data };
                    if (image.InlineBytes > MaxImageBytes)
                    {
                        violation(field + ".source.data", string.Create(CultureInfo.InvariantCulture, $"At most {MaxImageBytes} bytes per image; got about {image.InlineBytes}."));
                        return null;
                    }

                    return image;
                }

            case "url":
                {
                    var url = StringProperty(source, "url");
                    if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                    {
                        violation(field + ".source.url", "Must be an absolute http(s) URL.");
                        return null;
                    }

                    return new ImagePart { Url = url };
                }

            default:
                violation(field + ".source.type", "Must be base64 or url.");
                return null;
        }
    }

    private static ToolCall? ToolUse(JsonElement block, string field, Action<string, string> violation)
    {
        var id = StringProperty(block, "id");
        var name = StringProperty(block, "name");
        if (string.IsNullOrEmpty(id))
        {
            violation(field + ".id", "Required: the tool call's id.");
        }

        if (string.IsNullOrEmpty(name))
        {
            violation(field + ".name", "Required: the called tool's name.");
        }

        var arguments = "{}";
        if (block.TryGetProperty("input", out var input))
        {
            if (input.ValueKind != JsonValueKind.Object)
            {
                violation(field + ".input", "Must be an object.");
            }
            else
            {
                arguments = input.GetRawText();
            }
        }

        return string.IsNullOrEmpty(id) || string.IsNullOrEmpty(name) ? null : new ToolCall(id, name, arguments);
    }

    private static ChatMessage? ToolResult(JsonElement block, string field, Dictionary<string, string> toolNames, Action<string, string> violation)
    {
        var id = StringProperty(block, "tool_use_id");
        if (string.IsNullOrEmpty(id))
        {
            violation(field + ".tool_use_id", "Required: the id of the tool_use block this result answers.");
            return null;
        }

        var text = new StringBuilder();
        if (block.TryGetProperty("content", out var content) && content.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
        {
            if (content.ValueKind == JsonValueKind.String)
            {
                text.Append(content.GetString());
            }
            else if (content.ValueKind == JsonValueKind.Array)
            {
                var index = 0;
                foreach (var part in content.EnumerateArray())
                {
                    var partField = string.Create(CultureInfo.InvariantCulture, $"{field}.content[{index++}]");
                    if (part.ValueKind == JsonValueKind.Object && StringProperty(part, "type") == "text")
                    {
                        AppendText(text, part, partField, violation);
                    }
                    else
                    {
                        violation(partField, "Tool results may hold text blocks only.");
                    }
                }
            }
            else
            {
                violation(field + ".content", "Must be a string or an array of text blocks.");
            }
        }

        var isError = block.TryGetProperty("is_error", out var error) && error.ValueKind == JsonValueKind.True;
        return new ChatMessage(ChatRole.Tool, text.ToString())
        {
            ToolCallId = id,
            ToolName = toolNames.GetValueOrDefault(id),
            ToolError = isError,
        };
    }

    private static List<ToolDefinition> Tools(List<ToolParam?>? listed, Action<string, string> violation)
    {
        var tools = new List<ToolDefinition>();
        if (listed is null)
        {
            return tools;
        }

        if (listed.Count > MaxTools)
        {
            violation("tools", string.Create(CultureInfo.InvariantCulture, $"At most {MaxTools} tools; got {listed.Count}."));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < listed.Count; i++)
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"tools[{i}]");
            if (listed[i] is not { } tool)
            {
                violation(field, "Must be an object.");
                continue;
            }

            if (tool.Type is { } type && type != "custom")
            {
                violation(field + ".type", $"Only client tools (with an input_schema) are supported; Anthropic's server tool '{type}' is not.");
                continue;
            }

            var name = tool.Name?.Trim() ?? "";
            if (name.Length is 0 or > 128 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                violation(field + ".name", "Required: 1 to 128 letters, digits, '_' or '-'.");
                continue;
            }

            if (!names.Add(name))
            {
                violation(field + ".name", $"Tool names must be unique; '{name}' is listed twice.");
                continue;
            }

            if (tool.InputSchema is not { ValueKind: JsonValueKind.Object } schema)
            {
                violation(field + ".input_schema", "Required: a JSON-schema object.");
                continue;
            }

            tools.Add(new ToolDefinition(name, tool.Description, schema.GetRawText())
            {
                CacheBreakpoint = tool.CacheControl is { ValueKind: JsonValueKind.Object },
            });
        }

        return tools;
    }

    private static (ToolChoice Choice, bool? Parallel) ToolChoiceOf(JsonElement? choice, List<ToolDefinition> tools, Action<string, string> violation)
    {
        if (choice is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return (ToolChoice.Auto, null);
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            violation("tool_choice", "Must be an object: {\"type\":\"auto\"|\"any\"|\"tool\"|\"none\"}.");
            return (ToolChoice.Auto, null);
        }

        bool? parallel = element.TryGetProperty("disable_parallel_tool_use", out var disable) && disable.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? !disable.GetBoolean()
            : null;
        var type = StringProperty(element, "type");
        if (type is "any" or "tool" && tools.Count == 0)
        {
            violation("tool_choice", $"'{type}' needs tools.");
            return (ToolChoice.Auto, parallel);
        }

        switch (type)
        {
            case "auto":
                return (ToolChoice.Auto, parallel);
            case "any":
                return (new ToolChoice(ToolChoiceKind.Required), parallel);
            case "none":
                return (new ToolChoice(ToolChoiceKind.None), parallel);
            case "tool":
                var name = StringProperty(element, "name");
                if (name is null || tools.All(t => t.Name != name))
                {
                    violation("tool_choice.name", $"Must name one of the tools; got '{name}'.");
                    return (ToolChoice.Auto, parallel);
                }

                return (new ToolChoice(ToolChoiceKind.Named, name), parallel);
            default:
                violation("tool_choice.type", $"Must be auto, any, tool or none; got '{type}'.");
                return (ToolChoice.Auto, parallel);
        }
    }
}
