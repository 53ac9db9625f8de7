using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Providers.Anthropic;

// Shapes of POST /v1/messages: the unary message and every streaming event, only the fields we read.

internal sealed class AnthropicMessage
{
    public string? Type { get; set; }

    public string? Model { get; set; }

    public List<AnthropicContentBlock>? Content { get; set; }

    public string? StopReason { get; set; }

    public AnthropicUsage? Usage { get; set; }

    /// <summary>Set when a 200 carries an error body instead of a message: <c>{"type":"error","error":{"type","message"}}</c>.</summary>
    public System.Text.Json.JsonElement? Error { get; set; }
}

internal sealed class AnthropicContentBlock
{
    public string? Type { get; set; }

    public string? Text { get; set; }

    /// <summary>tool_use: the call's id (<c>toolu_…</c>).</summary>
    public string? Id { get; set; }

    /// <summary>tool_use: the called tool.</summary>
    public string? Name { get; set; }

    /// <summary>tool_use: the arguments object (empty <c>{}</c> in a stream's content_block_start).</summary>
    public System.Text.Json.JsonElement? Input { get; set; }
}

internal sealed class AnthropicUsage
{
    public long? InputTokens { get; set; }

    public long? OutputTokens { get; set; }

    public long? CacheCreationInputTokens { get; set; }

    public long? CacheReadInputTokens { get; set; }
}

/// <summary>One streaming event: message_start, content_block_start/delta/stop, message_delta, message_stop, ping, error.</summary>
internal sealed class AnthropicStreamEvent
{
    public string? Type { get; set; }

    public int Index { get; set; }

    public AnthropicMessage? Message { get; set; }

    /// <summary>content_block_start: the block (text or tool_use with id and name).</summary>
    public AnthropicContentBlock? ContentBlock { get; set; }

    public AnthropicDelta? Delta { get; set; }

    public AnthropicUsage? Usage { get; set; }
}

internal sealed class AnthropicDelta
{
    public string? Type { get; set; }

    public string? Text { get; set; }

    /// <summary>input_json_delta: the next piece of a tool_use block's arguments JSON.</summary>
    public string? PartialJson { get; set; }

    public string? StopReason { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(AnthropicMessage))]
[JsonSerializable(typeof(AnthropicStreamEvent))]
internal sealed partial class AnthropicJsonContext : JsonSerializerContext;
