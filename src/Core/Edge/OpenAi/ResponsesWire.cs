using System.Text.Json;
using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Edge.OpenAi;

// OpenAI's Responses API wire format (the subset Monkey Coder serves: text, images and function
// tools), snake_case on the wire. Unknown request fields (reasoning, include, prompt_cache_key,
// metadata, …) are ignored, as OpenAI-compatible servers do.

internal sealed class ResponsesRequest
{
    public string? Model { get; set; }

    /// <summary>A string (one user message) or a list of input items (messages, function calls, function call outputs).</summary>
    public JsonElement? Input { get; set; }

    /// <summary>The system prompt.</summary>
    public string? Instructions { get; set; }

    public List<JsonElement>? Tools { get; set; }

    /// <summary>"auto", "none", "required", or {"type":"function","name":…}.</summary>
    public JsonElement? ToolChoice { get; set; }

    public bool? ParallelToolCalls { get; set; }

    public int? MaxOutputTokens { get; set; }

    public double? Temperature { get; set; }

    public double? TopP { get; set; }

    public ResponsesTextOptions? Text { get; set; }

    public string? User { get; set; }

    public bool? Stream { get; set; }

    /// <summary>Monkey Coder stores no responses; true is accepted and means nothing (see <see cref="PreviousResponseId"/>).</summary>
    public bool? Store { get; set; }

    /// <summary>Refused: nothing is stored, so the caller must resend the conversation as input items.</summary>
    public string? PreviousResponseId { get; set; }

    /// <summary>Models to try after the requested model and its catalog chain (as on chat completions).</summary>
    public List<string>? Fallbacks { get; set; }

    /// <summary>Monkey Coder extension: keep the response out of (and do not serve it from) the cache.</summary>
    public bool? CacheBypass { get; set; }
}

internal sealed class ResponsesTextOptions
{
    public ResponsesTextFormat? Format { get; set; }
}

internal sealed class ResponsesTextFormat
{
    /// <summary>"text", "json_object" or "json_schema".</summary>
    public string? Type { get; set; }

    public string? Name { get; set; }

    public JsonElement? Schema { get; set; }

    public bool? Strict { get; set; }
}

/// <summary>A response object (non-streamed answer, and the <c>response</c> of the stream's lifecycle events).</summary>
internal sealed class ResponseObject
{
    public required string Id { get; init; }

    public string Object => "response";

    public required long CreatedAt { get; init; }

    /// <summary>"in_progress", "completed", "incomplete" or "failed".</summary>
    public required string Status { get; init; }

    public required string Model { get; init; }

    /// <summary>Monkey Coder extension (as on chat completions): the provider that answered.</summary>
    public string? Provider { get; init; }

    public required IReadOnlyList<ResponseItem> Output { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public ResponseUsage? Usage { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public ResponseError? Error { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public IncompleteDetails? IncompleteDetails { get; init; }

    public bool ParallelToolCalls { get; init; } = true;

    /// <summary>Always false: Monkey Coder keeps no response to continue from.</summary>
    public bool Store => false;
}

/// <summary>An output item: a message (<see cref="Content"/>) or a function call (<see cref="CallId"/>, <see cref="Name"/>, <see cref="Arguments"/>).</summary>
internal sealed class ResponseItem
{
    public required string Type { get; init; }

    public required string Id { get; init; }

    public required string Status { get; init; }

    public string? Role { get; init; }

    public IReadOnlyList<OutputText>? Content { get; init; }

    public string? CallId { get; init; }

    public string? Name { get; init; }

    public string? Arguments { get; init; }
}

internal sealed class OutputText
{
    public string Type => "output_text";

    public required string Text { get; init; }

    public IReadOnlyList<string> Annotations => [];
}

internal sealed class ResponseUsage
{
    public long InputTokens { get; init; }

    public required InputTokensDetails InputTokensDetails { get; init; }

    public long OutputTokens { get; init; }

    public OutputTokensDetails OutputTokensDetails { get; } = new();

    public long TotalTokens { get; init; }
}

internal sealed class InputTokensDetails
{
    public long CachedTokens { get; init; }
}

internal sealed class OutputTokensDetails
{
    public long ReasoningTokens => 0;
}

internal sealed class ResponseError
{
    public required string Code { get; init; }

    public required string Message { get; init; }
}

internal sealed class IncompleteDetails
{
    public required string Reason { get; init; }
}

/// <summary>
/// One server-sent event of a streamed response: <see cref="Type"/> names it (response.created,
/// response.output_text.delta, …) and only the fields that event has are set.
/// </summary>
internal sealed class ResponseStreamEvent
{
    public required string Type { get; init; }

    public long SequenceNumber { get; set; }

    public ResponseObject? Response { get; init; }

    public int? OutputIndex { get; init; }

    public string? ItemId { get; init; }

    public int? ContentIndex { get; init; }

    public ResponseItem? Item { get; init; }

    public OutputText? Part { get; init; }

    public string? Delta { get; init; }

    public string? Text { get; init; }

    public string? Arguments { get; init; }

    /// <summary>For the "error" event: OpenAI's error code and message.</summary>
    public string? Code { get; init; }

    public string? Message { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ResponsesRequest))]
[JsonSerializable(typeof(ResponseObject))]
[JsonSerializable(typeof(ResponseStreamEvent))]
internal sealed partial class ResponsesJsonContext : JsonSerializerContext;
