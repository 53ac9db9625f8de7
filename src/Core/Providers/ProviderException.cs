namespace MonkeyCoder.Core.Providers;

/// <summary>The provider-neutral failure classes the execution layer acts on.</summary>
internal enum ProviderErrorClass
{
    Unknown,
    /// <summary>429 or a quota error; <see cref="ProviderException.RetryAfter"/> holds the provider's hint.</summary>
    RateLimited,
    /// <summary>502, 503, 529 or "overloaded": the provider says it is busy.</summary>
    Overloaded,
    Timeout,
    ConnectionReset,
    ContextLengthExceeded,
    ContentFiltered,
    Authentication,
    InvalidRequest,
    MalformedStream,
    /// <summary>The stream ended before its terminator or final chunk.</summary>
    StreamCut,
    /// <summary>The stream produced no token within the stall timeout.</summary>
    Stalled,
    /// <summary>HTTP 500 (and other 5xx that are not 502/503/504/529): the provider failed, it did not say it is busy.</summary>
    ServerError,
    /// <summary>
    /// HTTP 400 because the conversation ends with an assistant message (the model takes no prefill).
    /// Only a continuation sends one; it is then retried at once without the prefill.
    /// </summary>
    PrefillRejected,
}

/// <summary>
/// A classified upstream failure. Keeps the provider's own code and message for the caller;
/// never carries a credential.
/// </summary>
internal sealed class ProviderException : Exception
{
    public ProviderException(string provider, ProviderErrorClass errorClass, string message, Exception? inner = null)
        : base(message, inner)
    {
        Provider = provider;
        ErrorClass = errorClass;
    }

    public ProviderException()
        : this("unknown", ProviderErrorClass.Unknown, "Provider failure.")
    {
    }

    public ProviderException(string message)
        : this("unknown", ProviderErrorClass.Unknown, message)
    {
    }

    public ProviderException(string message, Exception inner)
        : this("unknown", ProviderErrorClass.Unknown, message, inner)
    {
    }

    public string Provider { get; }

    public ProviderErrorClass ErrorClass { get; }

    /// <summary>HTTP status from the provider, when there was one.</summary>
    public int? HttpStatus { get; init; }

    /// <summary>The provider's own error code or type, e.g. "rate_limit_exceeded".</summary>
    public string? ProviderCode { get; init; }

    /// <summary>The provider's Retry-After hint.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// True when the upstream said nothing at all: no response headers within the headers timeout, or
    /// no first token within the first-token timeout. Such a model fails over at once instead of being retried.
    /// </summary>
    public bool Silent { get; init; }

    /// <summary>Snake-case name used in metrics, attempts and usage rows.</summary>
    public string ClassName => ErrorClassNames.Of(ErrorClass);

    /// <summary>True for failures worth another try (same or another model).</summary>
    public bool IsTransient => ErrorClass is ProviderErrorClass.RateLimited or ProviderErrorClass.Overloaded
        or ProviderErrorClass.Timeout or ProviderErrorClass.ConnectionReset or ProviderErrorClass.MalformedStream
        or ProviderErrorClass.StreamCut or ProviderErrorClass.Stalled or ProviderErrorClass.ServerError or ProviderErrorClass.Unknown;
}

internal static class ErrorClassNames
{
    public static string Of(ProviderErrorClass errorClass) => errorClass switch
    {
        ProviderErrorClass.RateLimited => "rate_limited",
        ProviderErrorClass.Overloaded => "overloaded",
        ProviderErrorClass.Timeout => "timeout",
        ProviderErrorClass.ConnectionReset => "connection_reset",
        ProviderErrorClass.ContextLengthExceeded => "context_length_exceeded",
        ProviderErrorClass.ContentFiltered => "content_filtered",
        ProviderErrorClass.Authentication => "authentication",
        ProviderErrorClass.InvalidRequest => "invalid_request",
        ProviderErrorClass.MalformedStream => "malformed_stream",
        ProviderErrorClass.StreamCut => "stream_cut",
        ProviderErrorClass.Stalled => "stalled",
        ProviderErrorClass.ServerError => "server_error",
        ProviderErrorClass.PrefillRejected => "prefill_rejected",
        _ => "unknown",
    };
}
