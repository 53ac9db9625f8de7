using System.Text.Json;
using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Providers.OpenAi;

// Response shapes of POST /v1/chat/completions (unary and stream chunks), only the fields we read.

internal sealed class ChatCompletion
{
    public List<ChatChoice>? Choices { get; set; }

    public ChatUsage? Usage { get; set; }

    public string? Model { get; set; }

    /// <summary>Some compatible servers (and OpenAI mid-stream) send an error object in a 200 body.</summary>
    public JsonElement? Error { get; set; }
}

internal sealed class ChatChoice
{
    public int Index { get; set; }

    public ChatMessageBody? Message { get; set; }

    public ChatMessageBody? Delta { get; set; }

    public string? FinishReason { get; set; }
}

internal sealed class ChatMessageBody
{
    public string? Role { get; set; }

    public string? Content { get; set; }

    public string? Refusal { get; set; }

    /// <summary>Complete calls (unary) or call pieces (stream deltas: index, then id/name once, arguments in parts).</summary>
    public List<ChatToolCall>? ToolCalls { get; set; }
}

internal sealed class ChatToolCall
{
    /// <summary>Which call a stream delta belongs to (parallel calls have distinct indexes); absent in unary bodies.</summary>
    public int? Index { get; set; }

    public string? Id { get; set; }

    public string? Type { get; set; }

    public ChatToolFunction? Function { get; set; }
}

internal sealed class ChatToolFunction
{
    public string? Name { get; set; }

    public string? Arguments { get; set; }
}

internal sealed class ChatUsage
{
    public long? PromptTokens { get; set; }

    public long? CompletionTokens { get; set; }

    public long? TotalTokens { get; set; }

    public ChatPromptTokensDetails? PromptTokensDetails { get; set; }
}

internal sealed class ChatPromptTokensDetails
{
    /// <summary>Prompt tokens read from OpenAI's automatic prompt cache (included in prompt_tokens).</summary>
    public long? CachedTokens { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(ChatCompletion))]
internal sealed partial class OpenAiJsonContext : JsonSerializerContext;
