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

        for (var i = 0; i < messages.Count; i++)
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"messages[{i}]");
            var message = messages[i];
            if (message is null)
            {
                Violation(field, "Must be an object.");
                continue;
            }

            var text = ContentText(message.Content, field + ".content", Violation);
            switch (message.Role)
            {
                case "system" or "developer":
                    if (text.Length > 0)
                    {
                        system.Append(system.Length > 0 ? "\n\n" : "").Append(text);
                    }

                    break;
                case "user":
                    turns.Add(new ChatMessage(ChatRole.User, text));
                    break;
                case "assistant":
                    turns.Add(new ChatMessage(ChatRole.Assistant, text));
                    break;
                case "tool" or "function":
                    Violation(field + ".role", "Tool and function messages are not supported.");
                    break;
                default:
                    Violation(field + ".role", $"Must be system, developer, user or assistant; got '{message.Role}'.");
                    break;
            }
        }

        var prompt = "";
        if (turns.Count > 0 && turns[^1].Role == ChatRole.User)
        {
            prompt = turns[^1].Content;
            turns.RemoveAt(turns.Count - 1);
            if (string.IsNullOrWhiteSpace(prompt))
            {
                Violation(string.Create(CultureInfo.InvariantCulture, $"messages[{messages.Count - 1}].content"), "The last user message must not be empty.");
            }
            else if (prompt.Length > TaskRequestValidator.MaxPromptChars)
            {
                Violation(string.Create(CultureInfo.InvariantCulture, $"messages[{messages.Count - 1}].content"),
                    string.Create(CultureInfo.InvariantCulture, $"At most {TaskRequestValidator.MaxPromptChars} characters; got {prompt.Length}."));
            }
        }
        else if (messages.Count > 0)
        {
            Violation("messages", "The last message must come from the user.");
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

        if (request.Tools is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } || request.Functions is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) })
        {
            Violation("tools", "Tool and function calling are not supported.");
        }

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
        };
        return new ChatCall(task, model, fallbacks, stream, stream && request.StreamOptions?.IncludeUsage == true);
    }

    /// <summary>A string, or the text parts of a content array joined; other part types are refused.</summary>
    private static string ContentText(JsonElement? content, string field, Action<string, string> violation)
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
            violation(field, "Must be a string or an array of text parts.");
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

            if (type.GetString() != "text" || !part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
            {
                violation(partField, $"Only text parts are supported; got '{type.GetString()}'.");
                continue;
            }

            text.Append(text.Length > 0 ? "\n" : "").Append(value.GetString());
        }

        return text.ToString();
    }
}
