using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Rpc;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>A validated chat completion call: the task to run and how the caller chose its model.</summary>
internal sealed record ChatCall(TaskRequest Task, string Model, IReadOnlyList<string> Fallbacks, bool Stream, bool IncludeUsage)
{
    /// <summary>True when the caller left the choice to Monkey Coder's router.</summary>
    public bool IsAuto => string.Equals(Model, ChatRequestMapper.AutoModel, StringComparison.OrdinalIgnoreCase);

    /// <summary>What the call's execution recorded as usage (answered, failed or cancelled), for the limits' settlement.</summary>
    public Usage.UsageCharge Charge { get; } = new();
}

/// <summary>
/// Maps an OpenAI chat completion request onto a Monkey Coder task: task type CHAT, the last user
/// message is the prompt, earlier user/assistant turns are the history, and system (or developer)
/// messages become the system prompt. Collects every violation and throws one INVALID_ARGUMENT
/// (through <see cref="RpcErrors"/>, so every edge reports errors alike), with OpenAI's parameter names.
/// </summary>
internal static class ChatRequestMapper
{
    /// <summary>The model name that asks Monkey Coder to route.</summary>
    public const string AutoModel = "auto";

    public const int MaxFallbacks = 10;

    public static ChatCall Map(ChatCompletionRequest request)
    {
        var violations = new List<BadRequest.Types.FieldViolation>();
        void Violation(string field, string description) =>
            violations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

        var model = request.Model?.Trim() ?? "";
        if (model.Length == 0)
        {
            Violation("model", "Required: a model id from GET /openai/v1/models, or \"auto\" to let Monkey Coder route.");
        }

        var system = new StringBuilder();
        var turns = new List<ChatMessage>();
        var messages = request.Messages ?? [];
        if (messages.Count == 0)
        {
            Violation("messages", "Required: at least one message.");
        }

        // Tool call id → function name, from the assistant turns so far (a tool result names its function; Gemini needs it).
        var calledNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var imageCount = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"messages[{i}]");
            var message = messages[i];
            if (message is null)
            {
                Violation(field, "Must be an object.");
                continue;
            }

            var images = new List<ImagePart>();
            var text = ContentText(message.Content, field + ".content", Violation, message.Role == "user" ? images : null);
            imageCount += images.Count;
            switch (message.Role)
            {
                case "system" or "developer":
                    if (text.Length > 0)
                    {
                        system.Append(system.Length > 0 ? "\n\n" : "").Append(text);
                    }

                    break;
                case "user":
                    turns.Add(images.Count == 0 ? new ChatMessage(ChatRole.User, text) : new ChatMessage(ChatRole.User, text) { Images = images });
                    break;
                case "assistant":
                    var calls = AssistantCalls(message.ToolCalls, field + ".tool_calls", Violation);
                    foreach (var call in calls)
                    {
                        calledNames[call.Id] = call.Name;
                    }

                    turns.Add(calls.Count == 0 ? new ChatMessage(ChatRole.Assistant, text) : new ChatMessage(ChatRole.Assistant, text) { ToolCalls = calls });
                    break;
                case "tool":
                    if (string.IsNullOrEmpty(message.ToolCallId))
                    {
                        Violation(field + ".tool_call_id", "Required on a tool message: the id of the tool call it answers.");
                    }
                    else if (!calledNames.TryGetValue(message.ToolCallId, out _))
                    {
                        Violation(field + ".tool_call_id", $"No earlier assistant message made a tool call with id '{message.ToolCallId}'.");
                    }

                    turns.Add(new ChatMessage(ChatRole.Tool, text)
                    {
                        ToolCallId = message.ToolCallId,
                        ToolName = message.ToolCallId is { } id ? calledNames.GetValueOrDefault(id) : null,
                    });
                    break;
                case "function":
                    Violation(field + ".role", "The legacy function role is not supported; send tool results as role \"tool\" with tool_call_id.");
                    break;
                default:
                    Violation(field + ".role", $"Must be system, developer, user, assistant or tool; got '{message.Role}'.");
                    break;
            }
        }

        if (imageCount > ImageLimits.MaxImages)
        {
            Violation("messages", string.Create(CultureInfo.InvariantCulture, $"At most {ImageLimits.MaxImages} images per request; got {imageCount}."));
        }

        var prompt = "";
        IReadOnlyList<ImagePart> promptImages = [];
        var endsWithToolResults = false;
        if (turns.Count > 0 && turns[^1].Role == ChatRole.User)
        {
            prompt = turns[^1].Content;
            promptImages = turns[^1].Images;
            turns.RemoveAt(turns.Count - 1);
            if (string.IsNullOrWhiteSpace(prompt) && promptImages.Count == 0)
            {
                Violation(string.Create(CultureInfo.InvariantCulture, $"messages[{messages.Count - 1}].content"), "The last user message must not be empty.");
            }
            else if (prompt.Length > TaskRequestValidator.MaxPromptChars)
            {
                Violation(string.Create(CultureInfo.InvariantCulture, $"messages[{messages.Count - 1}].content"),
                    string.Create(CultureInfo.InvariantCulture, $"At most {TaskRequestValidator.MaxPromptChars} characters; got {prompt.Length}."));
            }
        }
        else if (turns.Count > 0 && turns[^1].Role == ChatRole.Tool)
        {
            // An agent's next step: the conversation ends with tool results, and the model answers them.
            // The last user text is the prompt for analysis only; everything is sent as history.
            endsWithToolResults = true;
            prompt = turns.LastOrDefault(t => t.Role == ChatRole.User)?.Content ?? "";
        }
        else if (messages.Count > 0)
        {
            Violation("messages", "The last message must come from the user or be a tool result.");
        }

        var maxTokens = request.MaxCompletionTokens ?? request.MaxTokens;
        if (maxTokens is { } max && (max < 1 || max > TaskRequest.MaxMaxTokens))
        {
            Violation(request.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens",
                string.Create(CultureInfo.InvariantCulture, $"Must be between 1 and {TaskRequest.MaxMaxTokens}; got {max}."));
        }

        if (request.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 2))
        {
            Violation("temperature", string.Create(CultureInfo.InvariantCulture, $"Must be between 0 and 2; got {t}."));
        }

        if (request.N is { } n && n != 1)
        {
            Violation("n", "Only n = 1 is supported.");
        }

        if (Present(request.Functions) || Present(request.FunctionCall))
        {
            Violation(Present(request.Functions) ? "functions" : "function_call",
                "The legacy function-calling fields are not supported; use tools and tool_choice.");
        }

        var tools = Tools(request.Tools, Violation);
        var toolChoice = Choice(request.ToolChoice, tools, Violation);
        var sampling = Sampling(request, Violation);

        var stream = request.Stream == true;
        if (request.StreamOptions is not null && !stream)
        {
            Violation("stream_options", "Only allowed when stream is true.");
        }

        var fallbacks = new List<string>();
        var listed = request.Fallbacks ?? [];
        if (listed.Count > MaxFallbacks)
        {
            Violation("fallbacks", string.Create(CultureInfo.InvariantCulture, $"At most {MaxFallbacks} models; got {listed.Count}."));
        }

        for (var i = 0; i < listed.Count; i++)
        {
            var name = listed[i]?.Trim() ?? "";
            if (name.Length == 0 || string.Equals(name, AutoModel, StringComparison.OrdinalIgnoreCase))
            {
                Violation(string.Create(CultureInfo.InvariantCulture, $"fallbacks[{i}]"), "Must name a catalog model.");
            }
            else
            {
                fallbacks.Add(name);
            }
        }

        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(violations);
        }

        var task = new TaskRequest
        {
            TaskType = TaskType.Chat,
            Prompt = prompt,
            History = turns,
            // A caller's system prompt replaces the persona's role text; without one the router picks a persona.
            Persona = system.Length > 0 ? Persona.Custom : Persona.Unspecified,
            CustomInstructions = system.ToString(),
            MaxTokens = maxTokens ?? TaskRequest.DefaultMaxTokens,
            Temperature = request.Temperature ?? TaskRequest.DefaultTemperature,
            TemperatureSet = request.Temperature is not null,
            CacheBypass = request.CacheBypass == true,
            PromptImages = promptImages,
            EndsWithToolResults = endsWithToolResults,
            Tools = tools,
            ToolChoice = toolChoice,
            ParallelToolCalls = tools.Count > 0 ? request.ParallelToolCalls : null,
            Sampling = sampling,
        };
        return new ChatCall(task, model, fallbacks, stream, stream && request.StreamOptions?.IncludeUsage == true);
    }

    /// <summary>
    /// A string, or the text parts of a content array joined; image parts go to <paramref name="images"/>
    /// (user turns only: null refuses them); other part types are refused.
    /// </summary>
    private static string ContentText(JsonElement? content, string field, Action<string, string> violation, List<ImagePart>? images)
    {
        if (content is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return "";
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            return element.GetString() ?? "";
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            violation(field, "Must be a string or an array of content parts.");
            return "";
        }

        var text = new StringBuilder();
        var index = 0;
        foreach (var part in element.EnumerateArray())
        {
            var partField = string.Create(CultureInfo.InvariantCulture, $"{field}[{index++}]");
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                violation(partField, "Must be an object with a type.");
                continue;
            }

            switch (type.GetString())
            {
                case "text" when part.TryGetProperty("text", out var value) && value.ValueKind == JsonValueKind.String:
                    text.Append(text.Length > 0 ? "\n" : "").Append(value.GetString());
                    break;
                case "image_url" when images is not null:
                    if (!part.TryGetProperty("image_url", out var image) || image.ValueKind is not (JsonValueKind.Object or JsonValueKind.String))
                    {
                        violation(partField + ".image_url", "Required: {\"url\": an http(s) URL or a data: URL}.");
                        break;
                    }

                    var url = image.ValueKind == JsonValueKind.String ? image.GetString() : StringProperty(image, "url");
                    var (parsed, error) = ImageLimits.FromUrl(url, image.ValueKind == JsonValueKind.Object ? StringProperty(image, "detail") : null);
                    if (parsed is null)
                    {
                        violation(partField + ".image_url.url", error!);
                    }
                    else
                    {
                        images.Add(parsed);
                    }

                    break;
                case "image_url":
                    violation(partField, "Image parts are only allowed in user messages.");
                    break;
                default:
                    violation(partField, $"Only text and image_url parts are supported; got '{type.GetString()}'.");
                    break;
            }
        }

        return text.ToString();
    }

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool Present(JsonElement? element) => element is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) };

    /// <summary>Most tools in one request (OpenAI's limit).</summary>
    public const int MaxTools = 128;

    /// <summary>An assistant turn's tool calls: each needs an id, type "function", a name and arguments (JSON text).</summary>
    private static List<ToolCall> AssistantCalls(List<ToolCallDto?>? calls, string field, Action<string, string> violation)
    {
        var result = new List<ToolCall>(calls?.Count ?? 0);
        for (var i = 0; i < (calls?.Count ?? 0); i++)
        {
            var callField = string.Create(CultureInfo.InvariantCulture, $"{field}[{i}]");
            var call = calls![i];
            if (call is null || string.IsNullOrEmpty(call.Id) || call.Function?.Name is not { Length: > 0 } name)
            {
                violation(callField, "Must have an id and function.name.");
                continue;
            }

            if (call.Type is not (null or "function"))
            {
                violation(callField + ".type", $"Must be \"function\"; got '{call.Type}'.");
                continue;
            }

            result.Add(new ToolCall(call.Id, name, string.IsNullOrEmpty(call.Function.Arguments) ? "{}" : call.Function.Arguments));
        }

        return result;
    }

    /// <summary>The request's function tools: a valid name, an optional description, parameters a JSON object (passed through as written).</summary>
    private static List<ToolDefinition> Tools(JsonElement? tools, Action<string, string> violation)
    {
        var result = new List<ToolDefinition>();
        if (!Present(tools))
        {
            return result;
        }

        if (tools!.Value.ValueKind != JsonValueKind.Array)
        {
            violation("tools", "Must be an array of {\"type\":\"function\",\"function\":{…}}.");
            return result;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var tool in tools.Value.EnumerateArray())
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"tools[{index++}]");
            if (tool.ValueKind != JsonValueKind.Object || StringProperty(tool, "type") != "function"
                || !tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                violation(field, "Must be {\"type\":\"function\",\"function\":{\"name\":…}}; only function tools are supported.");
                continue;
            }

            var name = StringProperty(function, "name") ?? "";
            if (!ValidToolName(name))
            {
                violation(field + ".function.name", "Required: 1 to 64 characters of a-z, A-Z, 0-9, _ and -.");
                continue;
            }

            if (!names.Add(name))
            {
                violation(field + ".function.name", $"Duplicate tool name '{name}'.");
                continue;
            }

            var schema = """{"type":"object","properties":{}}""";
            if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind != JsonValueKind.Null)
            {
                if (parameters.ValueKind != JsonValueKind.Object)
                {
                    violation(field + ".function.parameters", "Must be a JSON-schema object.");
                    continue;
                }

                schema = parameters.GetRawText();
            }

            result.Add(new ToolDefinition(name, StringProperty(function, "description"), schema));
        }

        if (result.Count > MaxTools)
        {
            violation("tools", string.Create(CultureInfo.InvariantCulture, $"At most {MaxTools} tools; got {result.Count}."));
        }

        return result;
    }

    private static bool ValidToolName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    private static ToolChoice Choice(JsonElement? choice, List<ToolDefinition> tools, Action<string, string> violation)
    {
        if (!Present(choice))
        {
            return ToolChoice.Auto;
        }

        var element = choice!.Value;
        ToolChoice result;
        if (element.ValueKind == JsonValueKind.String)
        {
            switch (element.GetString())
            {
                case "auto":
                    return ToolChoice.Auto;
                case "none":
                    return new ToolChoice(ToolChoiceKind.None);
                case "required":
                    result = new ToolChoice(ToolChoiceKind.Required);
                    break;
                default:
                    violation("tool_choice", $"Must be \"auto\", \"none\", \"required\" or {{\"type\":\"function\",\"function\":{{\"name\":…}}}}; got '{element.GetString()}'.");
                    return ToolChoice.Auto;
            }
        }
        else if (element.ValueKind == JsonValueKind.Object && StringProperty(element, "type") == "function"
            && element.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object
            && StringProperty(function, "name") is { Length: > 0 } name)
        {
            if (!tools.Exists(t => t.Name == name))
            {
                violation("tool_choice.function.name", $"Names no tool in tools: '{name}'.");
            }

            result = new ToolChoice(ToolChoiceKind.Named, name);
        }
        else
        {
            violation("tool_choice", "Must be \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":…}}.");
            return ToolChoice.Auto;
        }

        if (tools.Count == 0)
        {
            violation("tool_choice", "Requires tools.");
        }

        return result;
    }

    /// <summary>Most stop sequences (OpenAI's limit).</summary>
    public const int MaxStop = 4;

    /// <summary>stop, seed, top_p, penalties, response_format and user, checked against OpenAI's ranges.</summary>
    private static SamplingOptions Sampling(ChatCompletionRequest request, Action<string, string> violation)
    {
        var stop = new List<string>();
        if (Present(request.Stop))
        {
            var element = request.Stop!.Value;
            if (element.ValueKind == JsonValueKind.String)
            {
                stop.Add(element.GetString()!);
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String)
                    {
                        stop.Add(item.GetString()!);
                    }
                    else
                    {
                        violation("stop", "Must be a string or an array of strings.");
                    }
                }
            }
            else
            {
                violation("stop", "Must be a string or an array of strings.");
            }

            if (stop.Count > MaxStop)
            {
                violation("stop", string.Create(CultureInfo.InvariantCulture, $"At most {MaxStop} sequences; got {stop.Count}."));
            }

            if (stop.Exists(s => s.Length == 0))
            {
                violation("stop", "A stop sequence must not be empty.");
            }
        }

        if (request.TopP is { } topP && (double.IsNaN(topP) || topP < 0 || topP > 1))
        {
            violation("top_p", string.Create(CultureInfo.InvariantCulture, $"Must be between 0 and 1; got {topP}."));
        }

        if (request.PresencePenalty is { } presence && (double.IsNaN(presence) || presence < -2 || presence > 2))
        {
            violation("presence_penalty", string.Create(CultureInfo.InvariantCulture, $"Must be between -2 and 2; got {presence}."));
        }

        if (request.FrequencyPenalty is { } frequency && (double.IsNaN(frequency) || frequency < -2 || frequency > 2))
        {
            violation("frequency_penalty", string.Create(CultureInfo.InvariantCulture, $"Must be between -2 and 2; got {frequency}."));
        }

        if (request.User is { Length: > 256 })
        {
            violation("user", "At most 256 characters.");
        }

        return new SamplingOptions
        {
            Stop = stop,
            Seed = request.Seed,
            TopP = request.TopP,
            PresencePenalty = request.PresencePenalty,
            FrequencyPenalty = request.FrequencyPenalty,
            ResponseFormat = Format(request.ResponseFormat, violation),
            User = string.IsNullOrEmpty(request.User) ? null : request.User,
        };
    }

    private static ResponseFormat? Format(JsonElement? format, Action<string, string> violation)
    {
        if (!Present(format))
        {
            return null;
        }

        var element = format!.Value;
        switch (element.ValueKind == JsonValueKind.Object ? StringProperty(element, "type") : null)
        {
            case "text":
                return null;
            case "json_object":
                return new ResponseFormat(ResponseFormatKind.JsonObject);
            case "json_schema":
                if (!element.TryGetProperty("json_schema", out var schema) || schema.ValueKind != JsonValueKind.Object
                    || StringProperty(schema, "name") is not { Length: > 0 } name)
                {
                    violation("response_format.json_schema", "Required: {\"name\":…, \"schema\":{…}}.");
                    return null;
                }

                if (!ValidToolName(name))
                {
                    violation("response_format.json_schema.name", "1 to 64 characters of a-z, A-Z, 0-9, _ and -.");
                }

                string? body = null;
                if (schema.TryGetProperty("schema", out var value) && value.ValueKind != JsonValueKind.Null)
                {
                    if (value.ValueKind != JsonValueKind.Object)
                    {
                        violation("response_format.json_schema.schema", "Must be a JSON-schema object.");
                        return null;
                    }

                    body = value.GetRawText();
                }

                var strict = schema.TryGetProperty("strict", out var s) && s.ValueKind == JsonValueKind.True;
                return new ResponseFormat(ResponseFormatKind.JsonSchema, name, body, strict);
            default:
                violation("response_format", "Must be {\"type\":\"text\"}, {\"type\":\"json_object\"} or {\"type\":\"json_schema\",\"json_schema\":{…}}.");
                return null;
        }
    }
}
