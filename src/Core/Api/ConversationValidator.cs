using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>
/// Validates and maps the issue-19 parts of an <see cref="ExecuteRequest"/>: tools, tool choice,
/// a <c>messages</c> conversation, images and sampling options. Reports through the caller's
/// violation callback, so one INVALID_ARGUMENT lists every problem of the request.
/// </summary>
internal static partial class ConversationValidator
{
    public const int MaxTools = 128;
    public const int MaxToolDescriptionChars = 16_384;
    public const int MaxSchemaChars = 65_536;
    public const int MaxMessages = 1000;
    public const int MaxImages = 16;
    public const int MaxImageBytes = 5 * 1024 * 1024;
    public const int MaxTotalImageBytes = 20 * 1024 * 1024;
    public const int MaxUrlChars = 8192;
    public const int MaxStop = 4;
    public const int MaxStopChars = 256;
    public const int MaxUserChars = 256;
    public const int MaxFallbacks = 8;

    private static readonly string[] MediaTypes = ["image/png", "image/jpeg", "image/gif", "image/webp"];

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    public static partial Regex ToolName();

    private const string EmptyObjectSchema = """{"type":"object","properties":{}}""";

    /// <summary>True when <paramref name="json"/> parses as one JSON object.</summary>
    public static bool IsJsonObject(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static List<ToolDefinition> Tools(ExecuteRequest request, Action<string, string> violation)
    {
        if (request.Tools.Count > MaxTools)
        {
            violation("tools", Invariant($"At most {MaxTools} tools; got {request.Tools.Count}."));
        }

        var tools = new List<ToolDefinition>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.Tools.Count; i++)
        {
            var tool = request.Tools[i];
            if (!ToolName().IsMatch(tool.Name))
            {
                violation(Invariant($"tools[{i}].name"), "Required: 1–64 characters of a-z, A-Z, 0-9, _ and -.");
            }
            else if (!names.Add(tool.Name))
            {
                violation(Invariant($"tools[{i}].name"), $"Duplicate tool name '{tool.Name}'.");
            }

            if (tool.Description.Length > MaxToolDescriptionChars)
            {
                violation(Invariant($"tools[{i}].description"), Invariant($"At most {MaxToolDescriptionChars} characters."));
            }

            var schema = string.IsNullOrWhiteSpace(tool.ParametersJsonSchema) ? EmptyObjectSchema : tool.ParametersJsonSchema;
            if (schema.Length > MaxSchemaChars)
            {
                violation(Invariant($"tools[{i}].parameters_json_schema"), Invariant($"At most {MaxSchemaChars} characters."));
            }
            else if (!IsJsonObject(schema))
            {
                violation(Invariant($"tools[{i}].parameters_json_schema"), "Must be a JSON-schema object as JSON text, e.g. {\"type\":\"object\",\"properties\":{}}.");
            }

            tools.Add(new ToolDefinition(tool.Name, tool.Description.Length == 0 ? null : tool.Description, schema) { CacheBreakpoint = tool.CacheBreakpoint });
        }

        return tools;
    }

    public static Providers.ToolChoice Choice(ExecuteRequest request, IReadOnlyList<ToolDefinition> tools, Action<string, string> violation)
    {
        var choice = request.ToolChoice;
        if (choice is null)
        {
            return Providers.ToolChoice.Auto;
        }

        if (!Enum.IsDefined(choice.Mode))
        {
            violation("tool_choice.mode", $"Unknown tool choice mode {(int)choice.Mode}.");
            return Providers.ToolChoice.Auto;
        }

        var mode = choice.Mode == ToolChoiceMode.Unspecified && choice.Name.Length > 0 ? ToolChoiceMode.Named : choice.Mode;
        if (mode != ToolChoiceMode.Named && choice.Name.Length > 0)
        {
            violation("tool_choice.name", "Only with TOOL_CHOICE_MODE_NAMED.");
        }

        if (mode is ToolChoiceMode.Required or ToolChoiceMode.Named && tools.Count == 0)
        {
            violation("tool_choice", "Requires tools.");
        }

        if (mode == ToolChoiceMode.Named && tools.Count > 0 && !tools.Any(t => t.Name == choice.Name))
        {
            violation("tool_choice.name", $"Must name one of tools; got '{choice.Name}'.");
        }

        return mode switch
        {
            ToolChoiceMode.None => new Providers.ToolChoice(ToolChoiceKind.None),
            ToolChoiceMode.Required => new Providers.ToolChoice(ToolChoiceKind.Required),
            ToolChoiceMode.Named => new Providers.ToolChoice(ToolChoiceKind.Named, choice.Name),
            _ => Providers.ToolChoice.Auto,
        };
    }

    /// <summary>Images of one turn (or the prompt); <paramref name="total"/> accumulates inline bytes over the request.</summary>
    public static List<ImagePart> Images(IReadOnlyList<Image> images, string field, ref long total, Action<string, string> violation)
    {
        if (images.Count > MaxImages)
        {
            violation(field, Invariant($"At most {MaxImages} images; got {images.Count}."));
        }

        var parts = new List<ImagePart>();
        for (var i = 0; i < images.Count; i++)
        {
            var image = images[i];
            var at = Invariant($"{field}[{i}]");
            if (image.Detail.Length > 0 && image.Detail is not ("auto" or "low" or "high"))
            {
                violation(at + ".detail", "One of auto, low, high.");
            }

            var detail = image.Detail.Length == 0 ? null : image.Detail;
            switch (image.SourceCase)
            {
                case Image.SourceOneofCase.Url:
                    if (image.Url.Length > MaxUrlChars || !Uri.TryCreate(image.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    {
                        violation(at + ".url", Invariant($"Must be an absolute http(s) URL of at most {MaxUrlChars} characters (send bytes in data)."));
                    }

                    parts.Add(new ImagePart { Url = image.Url, MediaType = image.MediaType.Length == 0 ? null : image.MediaType, Detail = detail });
                    break;
                case Image.SourceOneofCase.Data:
                    total += image.Data.Length;
                    if (image.Data.Length == 0)
                    {
                        violation(at + ".data", "Must not be empty.");
                    }
                    else if (image.Data.Length > MaxImageBytes)
                    {
                        violation(at + ".data", Invariant($"At most {MaxImageBytes} bytes; got {image.Data.Length}."));
                    }

                    if (!MediaTypes.Contains(image.MediaType, StringComparer.OrdinalIgnoreCase))
                    {
                        violation(at + ".media_type", $"Required with data: one of {string.Join(", ", MediaTypes)}.");
                    }

                    parts.Add(new ImagePart { Base64Data = image.Data.ToBase64(), MediaType = image.MediaType.ToLowerInvariant(), Detail = detail });
                    break;
                default:
                    violation(at, "Required: url or data.");
                    break;
            }
        }

        return parts;
    }

    /// <summary>The conversation's mapping onto a task: system text, prior turns, the prompt and its images.</summary>
    public sealed record Conversation(string System, List<ChatMessage> History, string Prompt, List<ImagePart> PromptImages, bool EndsWithToolResults);

    public static Conversation Messages(ExecuteRequest request, ref long imageBytes, Action<string, string> violation)
    {
        if (request.Messages.Count > MaxMessages)
        {
            violation("messages", Invariant($"At most {MaxMessages} turns; got {request.Messages.Count}."));
        }

        if (request.Prompt.Length > 0)
        {
            violation("prompt", "Leave empty when messages are given: the last user turn is the prompt.");
        }

        if (request.SessionId.Length > 0)
        {
            violation("session_id", "Leave empty when messages are given: the conversation is in messages.");
        }

        if (request.Images.Count > 0)
        {
            violation("images", "Put images on the user message when messages are given.");
        }

        var system = new List<string>();
        var turns = new List<ChatMessage>();
        var calls = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            var at = Invariant($"messages[{i}]");
            if (message.Images.Count > 0 && message.Role != MessageRole.User)
            {
                violation(at + ".images", "Only on user turns.");
            }

            if (message.ToolCalls.Count > 0 && message.Role != MessageRole.Assistant)
            {
                violation(at + ".tool_calls", "Only on assistant turns.");
            }

            if (message.Role != MessageRole.Tool && (message.ToolCallId.Length > 0 || message.ToolName.Length > 0 || message.IsError))
            {
                violation(at, "tool_call_id, tool_name and is_error belong to tool turns.");
            }

            if (message.Text.Length > TaskRequestValidator.MaxPromptChars)
            {
                violation(at + ".text", Invariant($"At most {TaskRequestValidator.MaxPromptChars} characters; got {message.Text.Length}."));
            }

            switch (message.Role)
            {
                case MessageRole.System:
                    system.Add(message.Text);
                    break;
                case MessageRole.User:
                    var images = Images(message.Images, at + ".images", ref imageBytes, violation);
                    if (string.IsNullOrWhiteSpace(message.Text) && images.Count == 0)
                    {
                        violation(at + ".text", "Required: a user turn needs text or images.");
                    }

                    turns.Add(new ChatMessage(ChatRole.User, message.Text) { Images = images, CacheBreakpoint = message.CacheBreakpoint });
                    break;
                case MessageRole.Assistant:
                    var toolCalls = new List<Providers.ToolCall>();
                    for (var c = 0; c < message.ToolCalls.Count; c++)
                    {
                        var call = message.ToolCalls[c];
                        var callAt = Invariant($"{at}.tool_calls[{c}]");
                        if (call.Id.Length is 0 or > TaskRequestValidator.MaxIdLength * 2)
                        {
                            violation(callAt + ".id", "Required: the call's id (at most 256 characters).");
                        }
                        else if (!calls.TryAdd(call.Id, call.Name))
                        {
                            violation(callAt + ".id", $"Duplicate tool call id '{call.Id}'.");
                        }

                        if (!ToolName().IsMatch(call.Name))
                        {
                            violation(callAt + ".name", "Required: 1–64 characters of a-z, A-Z, 0-9, _ and -.");
                        }

                        var arguments = string.IsNullOrWhiteSpace(call.ArgumentsJson) ? "{}" : call.ArgumentsJson;
                        if (!IsJsonObject(arguments))
                        {
                            violation(callAt + ".arguments_json", "Must be a JSON object as text.");
                        }

                        toolCalls.Add(new Providers.ToolCall(call.Id, call.Name, arguments));
                    }

                    if (message.Text.Length == 0 && toolCalls.Count == 0)
                    {
                        violation(at + ".text", "Required: an assistant turn needs text or tool calls.");
                    }

                    turns.Add(new ChatMessage(ChatRole.Assistant, message.Text) { ToolCalls = toolCalls, CacheBreakpoint = message.CacheBreakpoint });
                    break;
                case MessageRole.Tool:
                    string? name = message.ToolName.Length > 0 ? message.ToolName : null;
                    if (message.ToolCallId.Length == 0)
                    {
                        violation(at + ".tool_call_id", "Required: the id of the tool call this result answers.");
                    }
                    else if (!calls.TryGetValue(message.ToolCallId, out var called))
                    {
                        violation(at + ".tool_call_id", $"No earlier assistant turn made tool call '{message.ToolCallId}'.");
                    }
                    else
                    {
                        name ??= called;
                    }

                    turns.Add(new ChatMessage(ChatRole.Tool, message.Text)
                    {
                        ToolCallId = message.ToolCallId,
                        ToolName = name,
                        ToolError = message.IsError,
                        CacheBreakpoint = message.CacheBreakpoint,
                    });
                    break;
                default:
                    violation(at + ".role", Enum.IsDefined(message.Role) ? "Required: system, user, assistant or tool." : $"Unknown role {(int)message.Role}.");
                    break;
            }
        }

        var systemText = string.Join("\n\n", system.Where(s => s.Length > 0));
        if (turns.Count == 0)
        {
            violation("messages", "Required: at least one user turn besides system turns.");
            return new Conversation(systemText, [], "", [], false);
        }

        var last = turns[^1];
        if (last.Role == ChatRole.User)
        {
            return new Conversation(systemText, turns[..^1], last.Content, [.. last.Images], false);
        }

        if (last.Role == ChatRole.Tool)
        {
            // The prompt is only read by the analyzer here: the last user text, if any.
            var lastUser = turns.FindLast(t => t.Role == ChatRole.User)?.Content ?? "";
            return new Conversation(systemText, turns, lastUser, [], true);
        }

        violation("messages", "The last turn must be a user turn or tool results.");
        return new Conversation(systemText, turns, "", [], false);
    }

    public static SamplingOptions Sampling(ExecuteRequest request, Action<string, string> violation)
    {
        if (request.Stop.Count > MaxStop)
        {
            violation("stop", Invariant($"At most {MaxStop} stop sequences; got {request.Stop.Count}."));
        }

        for (var i = 0; i < request.Stop.Count; i++)
        {
            if (request.Stop[i].Length is 0 or > MaxStopChars)
            {
                violation(Invariant($"stop[{i}]"), Invariant($"Must be 1–{MaxStopChars} characters."));
            }
        }

        if (request.HasTopP && !(request.TopP > 0 && request.TopP <= 1))
        {
            violation("top_p", Invariant($"Must be greater than 0 and at most 1; got {request.TopP}."));
        }

        if (request.HasPresencePenalty && !(request.PresencePenalty >= -2 && request.PresencePenalty <= 2))
        {
            violation("presence_penalty", Invariant($"Must be between -2 and 2; got {request.PresencePenalty}."));
        }

        if (request.HasFrequencyPenalty && !(request.FrequencyPenalty >= -2 && request.FrequencyPenalty <= 2))
        {
            violation("frequency_penalty", Invariant($"Must be between -2 and 2; got {request.FrequencyPenalty}."));
        }

        if (request.User.Length > MaxUserChars)
        {
            violation("user", Invariant($"At most {MaxUserChars} characters."));
        }

        Providers.ResponseFormat? format = null;
        if (request.ResponseFormat is { } rf)
        {
            switch (rf.Type)
            {
                case ResponseFormatType.Unspecified or ResponseFormatType.Text:
                    format = rf.Type == ResponseFormatType.Text ? new Providers.ResponseFormat(ResponseFormatKind.Text) : null;
                    break;
                case ResponseFormatType.JsonObject:
                    format = new Providers.ResponseFormat(ResponseFormatKind.JsonObject);
                    break;
                case ResponseFormatType.JsonSchema:
                    if (rf.JsonSchema.Length == 0 || rf.JsonSchema.Length > MaxSchemaChars || !IsJsonObject(rf.JsonSchema))
                    {
                        violation("response_format.json_schema", Invariant($"Required with JSON_SCHEMA: a JSON-schema object as JSON text (at most {MaxSchemaChars} characters)."));
                    }

                    if (rf.SchemaName.Length > 0 && !ToolName().IsMatch(rf.SchemaName))
                    {
                        violation("response_format.schema_name", "1–64 characters of a-z, A-Z, 0-9, _ and -.");
                    }

                    format = new Providers.ResponseFormat(ResponseFormatKind.JsonSchema, rf.SchemaName.Length == 0 ? "response" : rf.SchemaName, rf.JsonSchema, rf.Strict);
                    break;
                default:
                    violation("response_format.type", $"Unknown response format type {(int)rf.Type}.");
                    break;
            }
        }

        var sampling = new SamplingOptions
        {
            Stop = request.Stop.ToList(),
            Seed = request.HasSeed ? request.Seed : null,
            TopP = request.HasTopP ? request.TopP : null,
            PresencePenalty = request.HasPresencePenalty ? request.PresencePenalty : null,
            FrequencyPenalty = request.HasFrequencyPenalty ? request.FrequencyPenalty : null,
            ResponseFormat = format,
            User = request.User.Length == 0 ? null : request.User,
        };
        return sampling.IsEmpty ? SamplingOptions.None : sampling;
    }

    public static List<string> Fallbacks(ExecuteRequest request, Action<string, string> violation)
    {
        if (request.Fallbacks.Count > MaxFallbacks)
        {
            violation("fallbacks", Invariant($"At most {MaxFallbacks} models; got {request.Fallbacks.Count}."));
        }

        var fallbacks = new List<string>();
        for (var i = 0; i < request.Fallbacks.Count; i++)
        {
            var name = request.Fallbacks[i].Trim();
            if (name.Length == 0)
            {
                violation(Invariant($"fallbacks[{i}]"), "Must name a catalog model.");
            }
            else
            {
                fallbacks.Add(name);
            }
        }

        return fallbacks;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
