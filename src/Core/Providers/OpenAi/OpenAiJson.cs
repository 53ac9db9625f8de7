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
}

internal sealed class ChatUsage
{
    public long? PromptTokens { get; set; }

    public long? CompletionTokens { get; set; }

    public long? TotalTokens { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(ChatCompletion))]
internal sealed partial class OpenAiJsonContext : JsonSerializerContext;
