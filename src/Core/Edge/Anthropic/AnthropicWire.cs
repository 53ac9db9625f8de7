using System.Text.Json;
using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Edge.Anthropic;

// Anthropic's Messages API wire format (the subset Monkey Coder serves), snake_case on the wire.
// Polymorphic parts (system, content, tool_choice, thinking) are read as JsonElement and validated by
// AnthropicRequestMapper, which names the offending field. Unknown request fields are ignored, as
// Anthropic-compatible servers do.

internal sealed class MessagesRequest
{
    public string? Model { get; set; }

    public int? MaxTokens { get; set; }

    /// <summary>A string, or an array of text blocks (each may carry cache_control).</summary>
    public JsonElement? System { get; set; }

    public List<MessageParam?>? Messages { get; set; }

    public List<ToolParam?>? Tools { get; set; }

    /// <summary>{"type":"auto"|"any"|"tool"|"none", "name", "disable_parallel_tool_use"}.</summary>
    public JsonElement? ToolChoice { get; set; }

    public List<string?>? StopSequences { get; set; }

    public double? Temperature { get; set; }

    public double? TopP { get; set; }

    public int? TopK { get; set; }

    public MetadataParam? Metadata { get; set; }

    public bool? Stream { get; set; }

    /// <summary>{"type":"enabled","budget_tokens":N} is refused; {"type":"disabled"} is accepted.</summary>
    public JsonElement? Thinking { get; set; }

    /// <summary>Monkey Coder extension (as on the OpenAI edge): keep the response out of (and do not serve it from) the cache.</summary>
    public bool? CacheBypass { get; set; }
}

internal sealed class MessageParam
{
    public string? Role { get; set; }

    /// <summary>A string, or an array of content blocks.</summary>
    public JsonElement? Content { get; set; }
}

internal sealed class ToolParam
{
    /// <summary>Absent or "custom" for a client tool; Anthropic's server tools (e.g. web_search_…) are refused.</summary>
    public string? Type { get; set; }

    public string? Name { get; set; }

    public string? Description { get; set; }

    public JsonElement? InputSchema { get; set; }

    public JsonElement? CacheControl { get; set; }
}

internal sealed class MetadataParam
{
    public string? UserId { get; set; }
}

internal sealed class MessageResponse
{
    public required string Id { get; init; }

    public string Type => "message";

    public string Role => "assistant";

    public required string Model { get; init; }

    public required IReadOnlyList<ContentBlock> Content { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? StopReason { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? StopSequence { get; init; }

    public required UsageBody Usage { get; init; }
}

/// <summary>A text or tool_use block of an answer (the fields of the other type stay absent).</summary>
internal sealed class ContentBlock
{
    public required string Type { get; init; }

    public string? Text { get; init; }

    public string? Id { get; init; }

    public string? Name { get; init; }

    public JsonElement? Input { get; init; }
}

internal sealed class UsageBody
{
    /// <summary>Input tokens not read from or written to the prompt cache (Anthropic counts those apart).</summary>
    public long InputTokens { get; init; }

    public long OutputTokens { get; init; }

    public long CacheCreationInputTokens { get; init; }

    public long CacheReadInputTokens { get; init; }
}

internal sealed class MessageStartEvent
{
    public string Type => "message_start";

    public required MessageResponse Message { get; init; }
}

internal sealed class ContentBlockStartEvent
{
    public string Type => "content_block_start";

    public int Index { get; init; }

    public required ContentBlock ContentBlock { get; init; }
}

internal sealed class ContentBlockDeltaEvent
{
    public string Type => "content_block_delta";

    public int Index { get; init; }

    public required BlockDelta Delta { get; init; }
}

/// <summary>text_delta (text) or input_json_delta (partial_json).</summary>
internal sealed class BlockDelta
{
    public required string Type { get; init; }

    public string? Text { get; init; }

    public string? PartialJson { get; init; }
}

internal sealed class ContentBlockStopEvent
{
    public string Type => "content_block_stop";

    public int Index { get; init; }
}

internal sealed class MessageDeltaEvent
{
    public string Type => "message_delta";

    public required MessageDeltaBody Delta { get; init; }

    public required UsageBody Usage { get; init; }
}

internal sealed class MessageDeltaBody
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? StopReason { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? StopSequence { get; init; }
}

internal sealed class MessageStopEvent
{
    public string Type => "message_stop";
}

internal sealed class PingEvent
{
    public string Type => "ping";
}

internal sealed class CountTokensResponse
{
    public long InputTokens { get; init; }
}

internal sealed class AnthropicModelList
{
    public required IReadOnlyList<AnthropicModel> Data { get; init; }

    public bool HasMore => false;

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FirstId { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? LastId { get; init; }
}

internal sealed class AnthropicModel
{
    public string Type => "model";

    public required string Id { get; init; }

    public required string DisplayName { get; init; }

    /// <summary>RFC 3339; the catalog has no dates, so this process's start.</summary>
    public required string CreatedAt { get; init; }
}

internal sealed class AnthropicErrorEnvelope
{
    public string Type => "error";

    public required AnthropicErrorBody Error { get; init; }
}

internal sealed class AnthropicErrorBody
{
    public required string Type { get; init; }

    public required string Message { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(MessagesRequest))]
[JsonSerializable(typeof(MessageResponse))]
[JsonSerializable(typeof(MessageStartEvent))]
[JsonSerializable(typeof(ContentBlockStartEvent))]
[JsonSerializable(typeof(ContentBlockDeltaEvent))]
[JsonSerializable(typeof(ContentBlockStopEvent))]
[JsonSerializable(typeof(MessageDeltaEvent))]
[JsonSerializable(typeof(MessageStopEvent))]
[JsonSerializable(typeof(PingEvent))]
[JsonSerializable(typeof(CountTokensResponse))]
[JsonSerializable(typeof(AnthropicModelList))]
[JsonSerializable(typeof(AnthropicErrorEnvelope))]
internal sealed partial class AnthropicEdgeJsonContext : JsonSerializerContext;
