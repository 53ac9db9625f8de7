using System.Text.Json;
using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Edge.OpenAi;

// OpenAI's Chat Completions wire format (the subset Monkey Coder serves), snake_case on the wire.
// Unknown request fields are ignored, as OpenAI-compatible servers do.

internal sealed class ChatCompletionRequest
{
    public string? Model { get; set; }

    public List<ChatMessageDto>? Messages { get; set; }

    public int? MaxTokens { get; set; }

    /// <summary>The newer name for <see cref="MaxTokens"/>; wins when both are set.</summary>
    public int? MaxCompletionTokens { get; set; }

    public double? Temperature { get; set; }

    public int? N { get; set; }

    public bool? Stream { get; set; }

    public StreamOptionsDto? StreamOptions { get; set; }

    /// <summary>Models to try, in order, after the requested model and its catalog fallbacks (as OpenRouter and LiteLLM accept).</summary>
    public List<string>? Fallbacks { get; set; }

    /// <summary>Monkey Coder extension: keep the response out of (and do not serve it from) the cache.</summary>
    public bool? CacheBypass { get; set; }

    /// <summary>[{"type":"function","function":{"name","description","parameters"}}]; read by hand so a schema passes through as written.</summary>
    public JsonElement? Tools { get; set; }

    /// <summary>"auto", "none", "required" or {"type":"function","function":{"name":…}}.</summary>
    public JsonElement? ToolChoice { get; set; }

    public bool? ParallelToolCalls { get; set; }

    /// <summary>The legacy function-calling fields: refused with a pointer to tools.</summary>
    public JsonElement? Functions { get; set; }

    public JsonElement? FunctionCall { get; set; }

    /// <summary>A string or an array of up to 4 strings.</summary>
    public JsonElement? Stop { get; set; }

    public long? Seed { get; set; }

    public double? TopP { get; set; }

    public double? PresencePenalty { get; set; }

    public double? FrequencyPenalty { get; set; }

    /// <summary>{"type":"text"|"json_object"} or {"type":"json_schema","json_schema":{"name","schema","strict"}}.</summary>
    public JsonElement? ResponseFormat { get; set; }

    public string? User { get; set; }
}

internal sealed class StreamOptionsDto
{
    public bool? IncludeUsage { get; set; }
}

internal sealed class ChatMessageDto
{
    public string? Role { get; set; }

    /// <summary>A string, or an array of content parts ({"type":"text","text":…} or {"type":"image_url","image_url":{"url":…}}).</summary>
    public JsonElement? Content { get; set; }

    public string? Name { get; set; }

    /// <summary>An assistant turn's calls.</summary>
    public List<ToolCallDto?>? ToolCalls { get; set; }

    /// <summary>A tool turn: the call it answers.</summary>
    public string? ToolCallId { get; set; }
}

internal sealed class ToolCallDto
{
    /// <summary>Only in stream deltas: which call a piece belongs to.</summary>
    public int? Index { get; set; }

    public string? Id { get; set; }

    public string? Type { get; set; }

    public FunctionCallDto? Function { get; set; }
}

internal sealed class FunctionCallDto
{
    public string? Name { get; set; }

    public string? Arguments { get; set; }
}

internal sealed class ChatCompletion
{
    public required string Id { get; init; }

    public string Object => "chat.completion";

    public required long Created { get; init; }

    public required string Model { get; init; }

    /// <summary>Monkey Coder extension (as OpenRouter reports it): the provider that answered.</summary>
    public string? Provider { get; init; }

    public required IReadOnlyList<ChatChoice> Choices { get; init; }

    public required UsageDto Usage { get; init; }
}

internal sealed class ChatChoice
{
    public int Index { get; init; }

    public required AssistantMessage Message { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Logprobs => null;
}

internal sealed class AssistantMessage
{
    public string Role => "assistant";

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Content { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Refusal => null;

    /// <summary>The calls the model made (absent when none), finish_reason is then "tool_calls".</summary>
    public IReadOnlyList<ToolCallDto>? ToolCalls { get; init; }
}

internal sealed class UsageDto
{
    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }

    public long TotalTokens { get; init; }

    /// <summary>Present when some prompt tokens were read from the provider's prompt cache.</summary>
    public PromptTokensDetailsDto? PromptTokensDetails { get; init; }
}

internal sealed class PromptTokensDetailsDto
{
    public long CachedTokens { get; init; }
}

internal sealed class ChatCompletionChunk
{
    public required string Id { get; init; }

    public string Object => "chat.completion.chunk";

    public required long Created { get; init; }

    public required string Model { get; init; }

    public string? Provider { get; init; }

    /// <summary>Extension: true on the finish chunk when the answer survived a broken upstream stream (absent otherwise).</summary>
    public bool? Recovered { get; init; }

    public required IReadOnlyList<ChunkChoice> Choices { get; init; }

    /// <summary>Only on the extra last chunk requested with stream_options.include_usage (then choices is empty).</summary>
    public UsageDto? Usage { get; init; }
}

internal sealed class ChunkChoice
{
    public int Index { get; init; }

    public required ChunkDelta Delta { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Logprobs => null;
}

internal sealed class ChunkDelta
{
    public string? Role { get; init; }

    public string? Content { get; init; }

    /// <summary>Pieces of tool calls as OpenAI streams them: index always; id, type and name on a call's first piece.</summary>
    public IReadOnlyList<ToolCallDto>? ToolCalls { get; init; }
}

internal sealed class ModelList
{
    public string Object => "list";

    public required IReadOnlyList<ModelDto> Data { get; init; }
}

internal sealed class ModelDto
{
    public required string Id { get; init; }

    public string Object => "model";

    public long Created { get; init; }

    public required string OwnedBy { get; init; }
}

internal sealed class ErrorEnvelope
{
    public required ErrorBody Error { get; init; }
}

internal sealed class ErrorBody
{
    public required string Message { get; init; }

    public required string Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Param { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Code { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelDto))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class OpenAiEdgeJsonContext : JsonSerializerContext;
