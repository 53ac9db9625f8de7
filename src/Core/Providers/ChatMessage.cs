namespace MonkeyCoder.Core.Providers;

internal enum ChatRole
{
    System,
    User,
    Assistant,

    /// <summary>The result of one tool call: <see cref="ChatMessage.ToolCallId"/> names the call, <see cref="ChatMessage.Content"/> is its output.</summary>
    Tool,
}

/// <summary>
/// One turn of a provider-neutral conversation. <see cref="Content"/> is the turn's text (the tool's output
/// for <see cref="ChatRole.Tool"/>); a user turn may carry <see cref="Images"/> after its text; an assistant
/// turn may carry <see cref="ToolCalls"/> (with or without text). Every protocol client maps the whole record.
/// </summary>
internal sealed record ChatMessage(ChatRole Role, string Content)
{
    /// <summary>Images sent with a user turn, in order after its text.</summary>
    public IReadOnlyList<ImagePart> Images { get; init; } = [];

    /// <summary>The tool calls an assistant turn made, in order (parallel calls are several).</summary>
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];

    /// <summary>For <see cref="ChatRole.Tool"/>: the id of the call this result answers.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>For <see cref="ChatRole.Tool"/>: the called function's name, where known (Gemini needs it).</summary>
    public string? ToolName { get; init; }

    /// <summary>For <see cref="ChatRole.Tool"/>: the tool reported a failure (Anthropic's <c>is_error</c>).</summary>
    public bool ToolError { get; init; }

    /// <summary>
    /// A prompt-cache breakpoint after this turn (Anthropic's <c>cache_control: {"type":"ephemeral"}</c>);
    /// protocols that cache automatically ignore it.
    /// </summary>
    public bool CacheBreakpoint { get; init; }

    public bool HasToolCalls => ToolCalls.Count > 0;
}

/// <summary>An image part: either a URL (http(s)) or inline base64 data with its media type.</summary>
internal sealed record ImagePart
{
    public string? Url { get; init; }

    /// <summary>e.g. "image/png"; required with <see cref="Base64Data"/>.</summary>
    public string? MediaType { get; init; }

    public string? Base64Data { get; init; }

    /// <summary>OpenAI's detail hint ("auto", "low", "high"), passed where the protocol has one.</summary>
    public string? Detail { get; init; }

    public bool IsInline => Base64Data is not null;

    /// <summary>Decoded size of inline data in bytes (0 for URLs).</summary>
    public long InlineBytes => Base64Data is null ? 0 : Base64Data.Length / 4L * 3;
}

/// <summary>One function call a model made: <see cref="ArgumentsJson"/> is a JSON object as text.</summary>
internal sealed record ToolCall(string Id, string Name, string ArgumentsJson);

/// <summary>A function the model may call: <see cref="ParametersJsonSchema"/> is a JSON-schema object as text.</summary>
internal sealed record ToolDefinition(string Name, string? Description, string ParametersJsonSchema)
{
    /// <summary>Anthropic's <c>cache_control</c> on the tool list (a breakpoint after this tool).</summary>
    public bool CacheBreakpoint { get; init; }
}

internal enum ToolChoiceKind
{
    /// <summary>The model decides (the default when tools are present).</summary>
    Auto,

    /// <summary>The model must not call a tool.</summary>
    None,

    /// <summary>The model must call some tool.</summary>
    Required,

    /// <summary>The model must call <see cref="ToolChoice.Name"/>.</summary>
    Named,
}

internal readonly record struct ToolChoice(ToolChoiceKind Kind, string? Name = null)
{
    public static ToolChoice Auto => new(ToolChoiceKind.Auto);
}

/// <summary>
/// A streamed piece of a tool call. The first delta of call <see cref="Index"/> carries its
/// <see cref="Id"/> and <see cref="Name"/>; later ones append to its arguments. Parallel calls have distinct indexes.
/// </summary>
internal sealed record ToolCallDelta(int Index, string? Id, string? Name, string? ArgumentsDelta);
