namespace MonkeyCoder.Core.Providers.Http;

/// <summary>
/// Everything one HTTP provider client needs, resolved from <see cref="ProviderEndpointOptions"/>
/// and the catalog. Holds the key; <see cref="ToString"/> and <see cref="PublicBaseUrl"/> never show it.
/// </summary>
internal sealed record ProviderClientSettings
{
    /// <summary>Provider name, e.g. "openai" or an operator's "myvllm".</summary>
    public required string Name { get; init; }

    /// <summary>Base URL as the provider's SDKs take it: OpenAI-compatible with "/v1", Anthropic and Gemini without a version.</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>Send the attempt's W3C trace context (<c>traceparent</c>) to the provider. Defaults to true (TRACE_PROPAGATE_TO_PROVIDERS).</summary>
    public bool PropagateTraceContext { get; init; } = true;

    /// <summary>Null for servers that take no key (a local vLLM or Ollama).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Time until response headers arrive. Defaults to 60 s.</summary>
    public TimeSpan ResponseHeadersTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Whole unary request. Defaults to 300 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>Longest gap between two stream events before the stream counts as stalled. Defaults to 60 s.</summary>
    public TimeSpan StreamIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a stream that already sent its finish chunk, but no usage and no terminator, may
    /// stay silent before it counts as complete (usage then estimated). Defaults to 2 s.
    /// </summary>
    public TimeSpan FinalChunkGrace { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Unparseable stream events in a row that end the attempt (a malformed stream, then recovered);
    /// fewer are skipped, logged once per stream and counted. Defaults to 3.
    /// </summary>
    public int MaxConsecutiveBadEvents { get; init; } = 3;

    /// <summary>TCP + TLS connect. Defaults to 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Pooled connections are replaced after this long so DNS changes are seen. Defaults to 5 min.</summary>
    public TimeSpan PooledConnectionLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Anthropic only: the <c>anthropic-version</c> header. Defaults to 2023-06-01.</summary>
    public string AnthropicVersion { get; init; } = "2023-06-01";

    /// <summary>The base URL without user info or query (either may hold a credential), safe for logs, health output and ListProviders.</summary>
    public Uri PublicBaseUrl => Redact(BaseUrl);

    public static Uri Redact(Uri url) =>
        string.IsNullOrEmpty(url.UserInfo) && string.IsNullOrEmpty(url.Query) && string.IsNullOrEmpty(url.Fragment)
            ? url
            : new UriBuilder(url) { UserName = "", Password = "", Query = "", Fragment = "" }.Uri;

    /// <summary><see cref="Redact(Uri)"/> for a configured string; one that is not an absolute URL is shown as empty.</summary>
    public static string Redact(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? Redact(parsed).ToString() : "";

    public override string ToString() => $"{Name} at {PublicBaseUrl}";
}
