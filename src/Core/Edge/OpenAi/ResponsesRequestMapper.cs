using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Rpc;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>
/// Maps an OpenAI Responses API request onto the same <see cref="ChatCall"/> chat completions use, so
/// planning, execution, usage and limits are the chat edge's: <c>instructions</c> and
/// system/developer messages are the system prompt; message, <c>function_call</c> and
/// <c>function_call_output</c> items are the history; a final user message is the prompt, final
/// function call outputs make the task end with tool results. Function tools, tool choice,
/// <c>text.format</c>, <c>top_p</c> and <c>user</c> are honoured; what Monkey Coder cannot honour
/// (other tool types, <c>previous_response_id</c>) is refused, never ignored. Collects every
/// violation into one INVALID_ARGUMENT with the Responses API's parameter names.
/// </summary>
internal static class ResponsesRequestMapper
{
    public static ChatCall Map(ResponsesRequest request)
    {
        var violations = new List<BadRequest.Types.FieldViolation>();
        void Violation(string field, string description) =>
            violations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

        var model = request.Model?.Trim() ?? "";
        if (model.Length == 0)
        {
            Violation("model", "Required: a model id from GET /openai/v1/models, or \"auto\" to let Monkey Coder route.");
        }

        if (request.PreviousResponseId is { Length: > 0 })
        {
            Violation("previous_response_id", "Monkey Coder stores no responses (store is always false): send the whole conversation as input items.");
        }

        var system = new StringBuilder(request.Instructions ?? "");
        var turns = new List<ChatMessage>();
        ReadInput(request.Input, system, turns, Violation);

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
                Violation("input", "The last user message must not be empty.");
            }
        }
        else if (turns.Count > 0 && turns[^1].Role == ChatRole.Tool)
        {
            endsWithToolResults = true;
            prompt = turns.LastOrDefault(t => t.Role == ChatRole.User)?.Content ?? "";
        }
        else if (request.Input is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) })
        {
            Violation("input", "The input must end with a user message or with function_call_output items.");
        }

        if (prompt.Length > TaskRequestValidator.MaxPromptChars)
        {
            Violation("input", string.Create(CultureInfo.InvariantCulture, $"The last user message has at most {TaskRequestValidator.MaxPromptChars} characters; got {prompt.Length}."));
        }

        var tools = ReadTools(request.Tools, Violation);
        var toolChoice = ReadToolChoice(request.ToolChoice, tools, Violation);

        if (request.MaxOutputTokens is { } max && (max < 1 || max > TaskRequest.MaxMaxTokens))
        {
            Violation("max_output_tokens", string.Create(CultureInfo.InvariantCulture, $"Must be between 1 and {TaskRequest.MaxMaxTokens}; got {max}."));
        }

        if (request.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 2))
        {
            Violation("temperature", string.Create(CultureInfo.InvariantCulture, $"Must be between 0 and 2; got {t}."));
        }

        if (request.TopP is { } p && (double.IsNaN(p) || p < 0 || p > 1))
        {
            Violation("top_p", string.Create(CultureInfo.InvariantCulture, $"Must be between 0 and 1; got {p}."));
        }

        var format = ReadFormat(request.Text?.Format, Violation);

        var fallbacks = new List<string>();
        var listed = request.Fallbacks ?? [];
        if (listed.Count > ChatRequestMapper.MaxFallbacks)
        {
            Violation("fallbacks", string.Create(CultureInfo.InvariantCulture, $"At most {ChatRequestMapper.MaxFallbacks} models; got {listed.Count}."));
        }

        for (var i = 0; i < listed.Count; i++)
        {
            var name = listed[i]?.Trim() ?? "";
            if (name.Length == 0 || string.Equals(name, ChatRequestMapper.AutoModel, StringComparison.OrdinalIgnoreCase))
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
            PromptImages = promptImages,
            History = turns,
            EndsWithToolResults = endsWithToolResults,
            Persona = system.Length > 0 ? Persona.Custom : Persona.Unspecified,
            CustomInstructions = system.ToString(),
            MaxTokens = request.MaxOutputTokens ?? TaskRequest.DefaultMaxTokens,
            Temperature = request.Temperature ?? TaskRequest.DefaultTemperature,
            TemperatureSet = request.Temperature is not null,
            CacheBypass = request.CacheBypass == true,
            Tools = tools,
            ToolChoice = toolChoice,
            ParallelToolCalls = request.ParallelToolCalls,
            Sampling = new SamplingOptions { TopP = request.TopP, ResponseFormat = format, User = request.User } is { IsEmpty: false } sampling
                ? sampling
                : SamplingOptions.None,
        };
        return new ChatCall(task, model, fallbacks, request.Stream == true, IncludeUsage: true);
    }

    private static void ReadInput(JsonElement? input, StringBuilder system, List<ChatMessage> turns, Action<string, string> violation)
    {
        if (input is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            violation("input", "Required: a string or a list of input items.");
            return;
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            turns.Add(new ChatMessage(ChatRole.User, element.GetString() ?? ""));
            return;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            violation("input", "Must be a string or a list of input items.");
            return;
        }

        var callNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"input[{index++}]");
            if (item.ValueKind != JsonValueKind.Object)
            {
                violation(field, "Must be an object.");
                continue;
            }

            // An item without a type but with a role is an "easy input message".
            var type = String(item, "type") ?? (item.TryGetProperty("role", out _) ? "message" : null);
            switch (type)
            {
                case "message":
                    ReadMessage(item, field, system, turns, violation);
                    break;
                case "function_call":
                {
                    var callId = String(item, "call_id");
                    var name = String(item, "name");
                    var arguments = String(item, "arguments") ?? "{}";
                    if (string.IsNullOrEmpty(callId) || string.IsNullOrEmpty(name))
                    {
                        violation(field, "A function_call item needs call_id and name.");
                        break;
                    }

                    callNames[callId] = name;
                    var call = new ToolCall(callId, name, arguments);
                    // Parallel calls are consecutive items: they belong to one assistant turn.
                    if (turns.Count > 0 && turns[^1].Role == ChatRole.Assistant)
                    {
                        turns[^1] = turns[^1] with { ToolCalls = [.. turns[^1].ToolCalls, call] };
                    }
                    else
                    {
                        turns.Add(new ChatMessage(ChatRole.Assistant, "") { ToolCalls = [call] });
                    }

                    break;
                }

                case "function_call_output":
                {
                    var callId = String(item, "call_id");
                    if (string.IsNullOrEmpty(callId))
                    {
                        violation(field + ".call_id", "Required.");
                        break;
                    }

                    if (!callNames.TryGetValue(callId, out var name))
                    {
                        violation(field + ".call_id", $"No function_call item with call_id '{callId}' comes before this output.");
                        break;
                    }

                    var output = item.TryGetProperty("output", out var value) ? Text(value, field + ".output", violation, images: null) : "";
                    turns.Add(new ChatMessage(ChatRole.Tool, output) { ToolCallId = callId, ToolName = name });
                    break;
                }

                case "reasoning":
                    // A reasoning model's private reasoning, replayed by clients that got one from OpenAI: no other model can use it.
                    break;
                default:
                    violation(field + ".type", $"Supported input items are message, function_call and function_call_output; got '{type}'.");
                    break;
            }
        }
    }

    private static void ReadMessage(JsonElement item, string field, StringBuilder system, List<ChatMessage> turns, Action<string, string> violation)
    {
        var role = String(item, "role");
        var images = new List<ImagePart>();
        var text = item.TryGetProperty("content", out var content) ? Text(content, field + ".content", violation, role == "user" ? images : null) : "";
        switch (role)
        {
            case "system" or "developer":
                if (text.Length > 0)
                {
                    system.Append(system.Length > 0 ? "\n\n" : "").Append(text);
                }

                break;
            case "user":
                // Consecutive user messages (Codex sends its environment context as one) are one turn.
                if (turns.Count > 0 && turns[^1].Role == ChatRole.User)
                {
                    var previous = turns[^1];
                    turns[^1] = previous with { Content = previous.Content + "\n\n" + text, Images = [.. previous.Images, .. images] };
                }
                else
                {
                    turns.Add(new ChatMessage(ChatRole.User, text) { Images = images });
                }

                break;
            case "assistant":
                turns.Add(new ChatMessage(ChatRole.Assistant, text));
                break;
            default:
                violation(field + ".role", $"Must be system, developer, user or assistant; got '{role}'.");
                break;
        }
    }

    /// <summary>A string, or the text parts of a content list joined; images are collected where a user may send them, other parts refused.</summary>
    private static string Text(JsonElement content, string field, Action<string, string> violation, List<ImagePart>? images)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString() ?? "";
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            violation(field, "Must be a string or a list of content parts.");
            return "";
        }

        var text = new StringBuilder();
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partField = string.Create(CultureInfo.InvariantCulture, $"{field}[{index++}]");
            var type = part.ValueKind == JsonValueKind.Object ? String(part, "type") : null;
            switch (type)
            {
                case "input_text" or "output_text" or "text" when String(part, "text") is { } value:
                    text.Append(text.Length > 0 ? "\n" : "").Append(value);
                    break;
                case "input_image" when images is not null:
                    if (Image(part) is { } image)
                    {
                        images.Add(image);
                    }
                    else
                    {
                        violation(partField + ".image_url", "Must be an http(s) URL or a data:image/…;base64 URL (file_id is not supported).");
                    }

                    break;
                default:
                    violation(partField, images is null
                        ? $"Only text parts are supported here; got '{type}'."
                        : $"Only input_text and input_image parts are supported; got '{type}'.");
                    break;
            }
        }

        return text.ToString();
    }

    private static ImagePart? Image(JsonElement part)
    {
        var url = String(part, "image_url");
        var detail = String(part, "detail");
        if (url is null)
        {
            return null;
        }

        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var header = comma > 5 ? url[5..comma] : "";
            return header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase) && header.StartsWith("image/", StringComparison.OrdinalIgnoreCase)
                ? new ImagePart { MediaType = header[..^7], Base64Data = url[(comma + 1)..], Detail = detail }
                : null;
        }

        return url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            ? new ImagePart { Url = url, Detail = detail }
            : null;
    }

    private static List<ToolDefinition> ReadTools(List<JsonElement>? tools, Action<string, string> violation)
    {
        var definitions = new List<ToolDefinition>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (tools?.Count ?? 0); i++)
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"tools[{i}]");
            var tool = tools![i];
            var type = tool.ValueKind == JsonValueKind.Object ? String(tool, "type") : null;
            if (type != "function")
            {
                violation(field + ".type", $"Only function tools are supported; got '{type}'. Built-in tools (web_search, file_search, code_interpreter, computer_use, namespaces, custom tools) are not: turn them off in the client.");
                continue;
            }

            var name = String(tool, "name");
            if (string.IsNullOrEmpty(name) || name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                violation(field + ".name", "Required: 1 to 64 letters, digits, underscores or dashes.");
                continue;
            }

            if (!names.Add(name))
            {
                violation(field + ".name", $"Duplicate tool name '{name}'.");
                continue;
            }

            var parameters = """{"type":"object","properties":{}}""";
            if (tool.TryGetProperty("parameters", out var schema) && schema.ValueKind != JsonValueKind.Null)
            {
                if (schema.ValueKind != JsonValueKind.Object)
                {
                    violation(field + ".parameters", "Must be a JSON schema object.");
                    continue;
                }

                parameters = schema.GetRawText();
            }

            definitions.Add(new ToolDefinition(name, String(tool, "description"), parameters));
        }

        return definitions;
    }

    private static ToolChoice ReadToolChoice(JsonElement? choice, List<ToolDefinition> tools, Action<string, string> violation)
    {
        if (choice is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return ToolChoice.Auto;
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            switch (element.GetString())
            {
                case "auto":
                    return ToolChoice.Auto;
                case "none":
                    return new ToolChoice(ToolChoiceKind.None);
                case "required" when tools.Count > 0:
                    return new ToolChoice(ToolChoiceKind.Required);
                case "required":
                    violation("tool_choice", "\"required\" needs at least one function tool.");
                    return ToolChoice.Auto;
            }
        }
        else if (element.ValueKind == JsonValueKind.Object && String(element, "type") == "function" && String(element, "name") is { } name)
        {
            if (tools.Any(t => t.Name == name))
            {
                return new ToolChoice(ToolChoiceKind.Named, name);
            }

            violation("tool_choice.name", $"No function tool named '{name}'.");
            return ToolChoice.Auto;
        }

        violation("tool_choice", "Must be \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"name\":…}.");
        return ToolChoice.Auto;
    }

    private static ResponseFormat? ReadFormat(ResponsesTextFormat? format, Action<string, string> violation)
    {
        switch (format?.Type)
        {
            case null or "text":
                return null;
            case "json_object":
                return new ResponseFormat(ResponseFormatKind.JsonObject);
            case "json_schema" when format.Schema is { ValueKind: JsonValueKind.Object } schema && !string.IsNullOrEmpty(format.Name):
                return new ResponseFormat(ResponseFormatKind.JsonSchema, format.Name, schema.GetRawText(), format.Strict == true);
            case "json_schema":
                violation("text.format", "json_schema needs a name and a schema object.");
                return null;
            default:
                violation("text.format.type", $"Must be text, json_object or json_schema; got '{format.Type}'.");
                return null;
        }
    }

    private static string? String(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
