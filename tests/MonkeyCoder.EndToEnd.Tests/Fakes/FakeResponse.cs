namespace MonkeyCoder.EndToEnd.Tests.Fakes;

/// <summary>What a fake provider does with one request.</summary>
public enum FakeBehavior
{
    /// <summary>A normal answer (unary JSON or a complete stream).</summary>
    Success,
    /// <summary>An HTTP error with the provider's own error body (see <see cref="FakeError"/>).</summary>
    Error,
    /// <summary>The connection is aborted before any response header.</summary>
    ResetBeforeHeaders,
    /// <summary>No response at all until the client gives up.</summary>
    Hang,
    /// <summary>The connection is aborted after <see cref="FakeResponse.AfterDeltas"/> content deltas (unary: half the body).</summary>
    CutMidStream,
    /// <summary>The response ends cleanly (chunked terminator) after <see cref="FakeResponse.AfterDeltas"/> deltas, with no final chunk.</summary>
    EndWithoutFinal,
    /// <summary>Silence after <see cref="FakeResponse.AfterDeltas"/> deltas until the client gives up.</summary>
    Stall,
    /// <summary>An invalid JSON event after <see cref="FakeResponse.AfterDeltas"/> deltas (unary: an invalid JSON body).</summary>
    MalformedChunk,
    /// <summary>The complete answer without the protocol's terminator (OpenAI <c>[DONE]</c>, Anthropic <c>message_stop</c>); the connection stays open.</summary>
    MissingTerminator,
    /// <summary>An in-stream error event after <see cref="FakeResponse.AfterDeltas"/> deltas (Anthropic <c>event: error</c>, OpenAI/Gemini an error object).</summary>
    InStreamError,
    /// <summary>
    /// <see cref="FakeResponse.BadEventCount"/> unparseable events after <see cref="FakeResponse.AfterDeltas"/>
    /// deltas, then the rest of the stream as normal.
    /// </summary>
    BadEvents,
    /// <summary>The provider's safety system blocks the answer (OpenAI finish_reason content_filter, Anthropic stop_reason refusal, Gemini finishReason SAFETY).</summary>
    ContentFiltered,
}

/// <summary>The error kinds each fake renders in its provider's exact status and body.</summary>
public enum FakeError
{
    RateLimited,
    ServerError,
    Overloaded,
    Unauthorized,
    BadRequest,
    ContextLengthExceeded,
    /// <summary>HTTP 400: the conversation ends with an assistant message and the model takes no prefill.</summary>
    PrefillRejected,
}

/// <summary>
/// A scripted answer for a fake provider: enqueue one per expected request
/// (<c>fake.Enqueue(FakeResponse.RateLimited(retryAfter: 2))</c>) or set a default
/// (<c>fake.SetDefault(FakeResponse.Error(FakeError.Overloaded))</c> for a persistent 503).
/// </summary>
public sealed record FakeResponse
{
    public FakeBehavior Behavior { get; init; } = FakeBehavior.Success;

    public FakeError ErrorKind { get; init; }

    /// <summary>Overrides the status the provider uses for <see cref="ErrorKind"/> (e.g. 503 instead of 500).</summary>
    public int? Status { get; init; }

    /// <summary>Retry-After in seconds; null sends none.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Send Retry-After as an HTTP date instead of seconds.</summary>
    public bool RetryAfterAsHttpDate { get; init; }

    /// <summary>The answer text, streamed in deltas of about two words.</summary>
    public string? Content { get; init; }

    public int InputTokens { get; init; } = 21;

    public int OutputTokens { get; init; } = 9;

    /// <summary>Of <see cref="InputTokens"/> (which counts all input), those read from the prompt cache.</summary>
    public int CachedInputTokens { get; init; }

    /// <summary>Of <see cref="InputTokens"/>, those written to the prompt cache (Anthropic's cache_creation_input_tokens).</summary>
    public int CacheWriteInputTokens { get; init; }

    /// <summary>Tool calls the model makes after <see cref="Content"/> (parallel calls when several); the finish is then tool calls.</summary>
    public IReadOnlyList<FakeToolCall> ToolCalls { get; init; } = [];

    /// <summary>False: the response carries no usage at all (a self-hosted server that ignores include_usage).</summary>
    public bool ReportUsage { get; init; } = true;

    /// <summary>True: the answer stopped at max tokens (finish "length" / "max_tokens" / "MAX_TOKENS").</summary>
    public bool Truncated { get; init; }

    /// <summary>Wait after the headers before the first content (unary: before the response).</summary>
    public TimeSpan FirstTokenDelay { get; init; }

    /// <summary>Wait between stream frames.</summary>
    public TimeSpan FrameDelay { get; init; }

    /// <summary>Content deltas sent before a mid-stream fault.</summary>
    public int AfterDeltas { get; init; } = 2;

    /// <summary>Unparseable events sent by <see cref="FakeBehavior.BadEvents"/>.</summary>
    public int BadEventCount { get; init; } = 1;

    /// <summary>
    /// Asked to continue with an instruction (no prefill), the fake starts its answer over instead of
    /// continuing where the quoted text stops (some models do).
    /// </summary>
    public bool RestartOnContinuation { get; init; }

    /// <summary>Sets the text (see <see cref="Content"/>) of a scripted fault.</summary>
    public FakeResponse WithContent(string content) => this with { Content = content };

    public static FakeResponse Success(string? content = null, int inputTokens = 21, int outputTokens = 9) =>
        new() { Content = content, InputTokens = inputTokens, OutputTokens = outputTokens };

    /// <summary>An answer that calls tools (with optional text before the calls).</summary>
    public static FakeResponse CallingTools(params FakeToolCall[] calls) => new() { Content = "", ToolCalls = calls };

    public static FakeResponse WithoutUsage(string? content = null) => new() { Content = content, ReportUsage = false };

    public static FakeResponse Error(FakeError kind, int? status = null) => new() { Behavior = FakeBehavior.Error, ErrorKind = kind, Status = status };

    public static FakeResponse RateLimited(int? retryAfter = null, bool asHttpDate = false) =>
        new() { Behavior = FakeBehavior.Error, ErrorKind = FakeError.RateLimited, RetryAfterSeconds = retryAfter, RetryAfterAsHttpDate = asHttpDate };

    public static FakeResponse ServerError(int status = 500) => Error(FakeError.ServerError, status);

    public static FakeResponse Overloaded() => Error(FakeError.Overloaded);

    public static FakeResponse Unauthorized() => Error(FakeError.Unauthorized);

    public static FakeResponse BadRequest() => Error(FakeError.BadRequest);

    public static FakeResponse ContextLengthExceeded() => Error(FakeError.ContextLengthExceeded);

    public static FakeResponse ContentFiltered() => new() { Behavior = FakeBehavior.ContentFiltered };

    public static FakeResponse ResetBeforeHeaders() => new() { Behavior = FakeBehavior.ResetBeforeHeaders };

    public static FakeResponse Hang() => new() { Behavior = FakeBehavior.Hang };

    public static FakeResponse SlowFirstToken(TimeSpan delay) => new() { FirstTokenDelay = delay };

    public static FakeResponse CutMidStream(int afterDeltas = 2) => new() { Behavior = FakeBehavior.CutMidStream, AfterDeltas = afterDeltas };

    public static FakeResponse EndWithoutFinal(int afterDeltas = 2) => new() { Behavior = FakeBehavior.EndWithoutFinal, AfterDeltas = afterDeltas };

    public static FakeResponse Stall(int afterDeltas = 2) => new() { Behavior = FakeBehavior.Stall, AfterDeltas = afterDeltas };

    public static FakeResponse MalformedChunk(int afterDeltas = 2) => new() { Behavior = FakeBehavior.MalformedChunk, AfterDeltas = afterDeltas };

    public static FakeResponse MissingTerminator() => new() { Behavior = FakeBehavior.MissingTerminator };

    public static FakeResponse BadEvents(int afterDeltas, int count) => new() { Behavior = FakeBehavior.BadEvents, AfterDeltas = afterDeltas, BadEventCount = count };

    public static FakeResponse PrefillRejected() => Error(FakeError.PrefillRejected);

    public static FakeResponse InStreamError(int afterDeltas = 2) => new() { Behavior = FakeBehavior.InStreamError, AfterDeltas = afterDeltas };
}
