using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Edge;

/// <summary>
/// The REST host's browser-facing and abuse limits. Section <c>MonkeyCoder:Edge</c>. Lists are
/// comma-separated so they fit one environment variable.
/// </summary>
public sealed class EdgeOptions
{
    public const string Section = "MonkeyCoder:Edge";

    /// <summary>
    /// <c>CORS_ALLOWED_ORIGINS</c>: browser origins allowed to call the API, e.g.
    /// "https://app.example.com,https://admin.example.com". Defaults to none (no CORS headers at all).
    /// </summary>
    public string CorsAllowedOrigins { get; set; } = "";

    /// <summary><c>CORS_MAX_AGE_SECONDS</c>: how long browsers may cache a preflight answer. Defaults to 600 s.</summary>
    [Range(0, 86_400, ErrorMessage = "CORS_MAX_AGE_SECONDS (MonkeyCoder:Edge:CorsMaxAgeSeconds) must be between 0 and 86400.")]
    public int CorsMaxAgeSeconds { get; set; } = 600;

    /// <summary><c>MAX_REQUEST_BODY_BYTES</c>: larger bodies are refused with 413. Defaults to 4 MiB.</summary>
    [Range(1024, 268_435_456, ErrorMessage = "MAX_REQUEST_BODY_BYTES (MonkeyCoder:Edge:MaxRequestBodyBytes) must be between 1024 and 268435456.")]
    public int MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Total size of the request line and headers. Defaults to 32 KiB (Kestrel's default).</summary>
    [Range(1024, 1024 * 1024, ErrorMessage = "MonkeyCoder:Edge:MaxRequestHeadersTotalBytes must be between 1024 and 1048576.")]
    public int MaxRequestHeadersTotalBytes { get; set; } = 32 * 1024;

    /// <summary>Most request headers. Defaults to 64.</summary>
    [Range(8, 1000, ErrorMessage = "MonkeyCoder:Edge:MaxRequestHeaderCount must be between 8 and 1000.")]
    public int MaxRequestHeaderCount { get; set; } = 64;

    /// <summary>Time a client has to send all request headers (slowloris). Defaults to 15 s.</summary>
    [Range(1, 300, ErrorMessage = "MonkeyCoder:Edge:RequestHeadersTimeoutSeconds must be between 1 and 300.")]
    public int RequestHeadersTimeoutSeconds { get; set; } = 15;

    /// <summary>Idle time before a kept-alive connection is closed. Defaults to 75 s (longer than most load balancers' 60 s).</summary>
    [Range(1, 3600, ErrorMessage = "MonkeyCoder:Edge:KeepAliveTimeoutSeconds must be between 1 and 3600.")]
    public int KeepAliveTimeoutSeconds { get; set; } = 75;

    /// <summary>Slowest accepted request body upload after the grace period. Defaults to 240 bytes/s (Kestrel's default).</summary>
    [Range(1, 1_000_000, ErrorMessage = "MonkeyCoder:Edge:MinRequestBodyBytesPerSecond must be between 1 and 1000000.")]
    public int MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>Grace period before the body rate applies. Defaults to 5 s.</summary>
    [Range(1, 300, ErrorMessage = "MonkeyCoder:Edge:MinRequestBodyGraceSeconds must be between 1 and 300.")]
    public int MinRequestBodyGraceSeconds { get; set; } = 5;

    /// <summary>Most open connections; 0 = unlimited. Defaults to 0.</summary>
    [Range(0, 1_000_000, ErrorMessage = "MonkeyCoder:Edge:MaxConcurrentConnections must be between 0 and 1000000.")]
    public int MaxConcurrentConnections { get; set; }

    /// <summary>
    /// <c>TRUSTED_PROXIES</c>: addresses of TLS-terminating proxies whose X-Forwarded-For/-Proto are
    /// believed, e.g. "10.0.0.5,10.0.0.6". With neither this nor <see cref="TrustedNetworks"/> set,
    /// only loopback is trusted.
    /// </summary>
    public string TrustedProxies { get; set; } = "";

    /// <summary><c>TRUSTED_NETWORKS</c>: CIDR ranges of trusted proxies, e.g. "10.0.0.0/8". Defaults to none.</summary>
    public string TrustedNetworks { get; set; } = "";

    /// <summary>HSTS max-age sent on HTTPS responses. Defaults to 31536000 s (one year).</summary>
    [Range(0, 63_072_000, ErrorMessage = "MonkeyCoder:Edge:HstsMaxAgeSeconds must be between 0 and 63072000.")]
    public int HstsMaxAgeSeconds { get; set; } = 31_536_000;

    /// <summary><c>API_DOCS_ENABLED</c>: serve the OpenAPI document and the API page at /docs. Defaults to true.</summary>
    public bool DocsEnabled { get; set; } = true;

    public IReadOnlyList<string> ParseOrigins() => Split(CorsAllowedOrigins).Select(o => o.TrimEnd('/')).ToList();

    public IReadOnlyList<IPAddress> ParseProxies() => Split(TrustedProxies).Select(IPAddress.Parse).ToList();

    public IReadOnlyList<System.Net.IPNetwork> ParseNetworks() => Split(TrustedNetworks).Select(n => System.Net.IPNetwork.Parse(n)).ToList();

    internal static IEnumerable<string> Split(string? list) =>
        (list ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

[OptionsValidator]
internal sealed partial class EdgeOptionsValidator : IValidateOptions<EdgeOptions>;

/// <summary>Checks what attributes cannot (and ranges whose message must name the variable): each origin an absolute http(s) origin, each proxy an address, each network a CIDR.</summary>
internal sealed class EdgeOptionsListValidator : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var failures = new List<string>();

        // The [OptionsValidator] generator reports ranges with its own text (the property name only);
        // the settings with an environment variable are checked here too so the message names it.
        if (options.MaxRequestBodyBytes is < 1024 or > 268_435_456)
        {
            failures.Add("MAX_REQUEST_BODY_BYTES (MonkeyCoder:Edge:MaxRequestBodyBytes) must be between 1024 and 268435456.");
        }

        if (options.CorsMaxAgeSeconds is < 0 or > 86_400)
        {
            failures.Add("CORS_MAX_AGE_SECONDS (MonkeyCoder:Edge:CorsMaxAgeSeconds) must be between 0 and 86400.");
        }

        foreach (var origin in EdgeOptions.Split(options.CorsAllowedOrigins))
        {
            if (origin == "*")
            {
                failures.Add("CORS_ALLOWED_ORIGINS (MonkeyCoder:Edge:CorsAllowedOrigins) must list origins; '*' is not accepted.");
            }
            else if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.PathAndQuery is not ("/" or "") || !string.IsNullOrEmpty(uri.UserInfo) || origin.TrimEnd('/').Contains('?', StringComparison.Ordinal))
            {
                failures.Add($"CORS_ALLOWED_ORIGINS (MonkeyCoder:Edge:CorsAllowedOrigins): '{origin}' is not an absolute http(s) origin like https://app.example.com.");
            }
        }

        foreach (var proxy in EdgeOptions.Split(options.TrustedProxies))
        {
            if (!IPAddress.TryParse(proxy, out _))
            {
                failures.Add($"TRUSTED_PROXIES (MonkeyCoder:Edge:TrustedProxies): '{proxy}' is not an IP address.");
            }
        }

        foreach (var network in EdgeOptions.Split(options.TrustedNetworks))
        {
            if (!System.Net.IPNetwork.TryParse(network, out _))
            {
                failures.Add($"TRUSTED_NETWORKS (MonkeyCoder:Edge:TrustedNetworks): '{network}' is not a CIDR range like 10.0.0.0/8.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
