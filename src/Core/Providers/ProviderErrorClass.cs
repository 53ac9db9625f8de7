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
