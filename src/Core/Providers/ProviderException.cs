namespace MonkeyCoder.Core.Providers;

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
