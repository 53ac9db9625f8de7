using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace MonkeyCoder.Core.Providers.Http;

/// <summary>The provider's own error code and message, as parsed from its error body.</summary>
internal readonly record struct ProviderErrorBody(string? Code, string? Type, string? Message, TimeSpan? RetryDelay, string? Reason = null);

/// <summary>
/// Turns upstream failures (HTTP statuses with the provider's error body, transport exceptions,
/// in-stream error events) into the provider-neutral <see cref="ProviderErrorClass"/> set. Reads
/// the four error body shapes: OpenAI <c>{"error":{"message","type","code"}}</c>, Anthropic
/// <c>{"type":"error","error":{"type","message"}}</c>, Google <c>{"error":{"code","message","status","details"}}</c>
/// and xAI <c>{"code":"Client specified an invalid argument","error":"Incorrect API key provided: …"}</c>
/// (a 400 for a bad key, the message as a string beside a sentence-long code).
/// Never includes request headers (where keys live) in what it builds.
/// </summary>
internal static class ProviderErrorClassifier
{
    /// <summary>Longest provider message kept, in characters. Defaults to 500.</summary>
    private const int MaxMessageLength = 500;

    private static readonly string[] ContextLengthCodes = ["context_length_exceeded", "string_above_max_length"];

    private static readonly string[] ContextLengthPhrases =
    [
        "context length", "context_length", "context window", "prompt is too long", "maximum context",
        "exceeds the maximum number of tokens", "input token count", "exceed context limit", "too many input tokens",
        "reduce the length of the messages", "maximum prompt length",
    ];

    /// <summary>
    /// Messages that refuse a conversation ending with an assistant turn (Anthropic: "This model does not
    /// support assistant message prefill. The conversation must end with a user message."; OpenAI-compatible
    /// servers word it like "last message must be a user message").
    /// </summary>
    private static readonly string[] PrefillPhrases =
    [
        "assistant message prefill", "prefill", "must end with a user message", "last message must be", "final message must be",
        "last message role must be", "cannot end with an assistant", "ending with an assistant",
    ];

    /// <summary>Messages that say the key is wrong where the status does not (xAI answers a bad key with HTTP 400).</summary>
    private static readonly string[] AuthenticationPhrases = ["incorrect api key", "invalid api key", "api key not valid", "no api key provided"];

    private static readonly string[] ContentFilterCodes = ["content_filter", "content_policy_violation", "content_filtered", "invalid_prompt", "safety", "prohibited_content"];

    /// <summary>Classifies a non-success HTTP response. <paramref name="apiKey"/> is scrubbed from the provider's message.</summary>
    public static ProviderException FromResponse(string provider, int status, HttpResponseHeaders? headers, string? body, DateTimeOffset now, string? apiKey = null)
    {
        var error = ParseBody(body);
        error = error with { Message = Scrub(error.Message, apiKey) };
        var code = error.Code ?? error.Type;
        var text = Lower(error.Message);
        var errorClass = error.Reason is "API_KEY_INVALID" or "API_KEY_SERVICE_BLOCKED" ? ProviderErrorClass.Authentication : status switch
        {
            429 => ProviderErrorClass.RateLimited,
            401 or 403 => ProviderErrorClass.Authentication,
            408 or 504 => ProviderErrorClass.Timeout,
            502 or 503 or 529 => ProviderErrorClass.Overloaded,
            >= 500 => ProviderErrorClass.ServerError,
            400 or 404 or 409 or 413 or 422 => ClassifyRejection(code, error.Type, text),
            _ => ProviderErrorClass.Unknown,
        };

        // OpenAI and Anthropic also use the body type for overload on non-5xx (rare) and Gemini says RESOURCE_EXHAUSTED.
        if (errorClass == ProviderErrorClass.Unknown && (Is(code, "overloaded_error") || Is(error.Type, "overloaded_error")))
        {
            errorClass = ProviderErrorClass.Overloaded;
        }

        // OpenAI sends x-ratelimit-reset-* on every response: they explain a 429, not a 503.
        var retryAfter = errorClass switch
        {
            ProviderErrorClass.RateLimited => RetryAfter(headers, now) ?? error.RetryDelay,
            ProviderErrorClass.Overloaded or ProviderErrorClass.ServerError => RetryAfter(headers, now, includeRateLimitReset: false) ?? error.RetryDelay,
            _ => null,
        };

        return new ProviderException(provider, errorClass, Describe(status, error))
        {
            HttpStatus = status,
            ProviderCode = code,
            RetryAfter = retryAfter,
        };
    }

    /// <summary>Classifies an error object sent inside a stream (Anthropic <c>event: error</c>, OpenAI <c>data: {"error":…}</c>).</summary>
    public static ProviderException FromStreamError(string provider, string? body, string? apiKey = null)
    {
        var error = ParseBody(body);
        error = error with { Message = Scrub(error.Message, apiKey) };
        var code = error.Code ?? error.Type;
        var text = Lower(error.Message);
        var errorClass = code switch
        {
            "overloaded_error" or "api_error" or "server_error" or "internal_error" or "UNAVAILABLE" or "INTERNAL" => ProviderErrorClass.Overloaded,
            "rate_limit_error" or "rate_limit_exceeded" or "RESOURCE_EXHAUSTED" => ProviderErrorClass.RateLimited,
            "authentication_error" or "permission_error" or "invalid_api_key" or "PERMISSION_DENIED" or "UNAUTHENTICATED" => ProviderErrorClass.Authentication,
            "timeout_error" or "DEADLINE_EXCEEDED" => ProviderErrorClass.Timeout,
            _ => ClassifyRejection(code, error.Type, text) is var rejected && rejected != ProviderErrorClass.InvalidRequest
                ? rejected
                : code is "invalid_request_error" or "INVALID_ARGUMENT" ? ProviderErrorClass.InvalidRequest : ProviderErrorClass.Overloaded,
        };

        return new ProviderException(provider, errorClass, "In-stream error: " + (Trim(error.Message) ?? "no message"))
        {
            ProviderCode = code,
            RetryAfter = error.RetryDelay,
        };
    }

    /// <summary>
    /// Classifies a transport failure. <paramref name="timedOut"/> is true when the client's own
    /// timer (not the caller) cancelled; <paramref name="inBody"/> when headers had already arrived.
    /// </summary>
    public static ProviderException FromException(string provider, Exception exception, bool timedOut, bool inBody)
    {
        if (exception is ProviderException classified)
        {
            return classified;
        }

        if (timedOut)
        {
            return inBody
                ? new ProviderException(provider, ProviderErrorClass.Stalled, "The stream produced no event within the idle timeout.", exception)
                : new ProviderException(provider, ProviderErrorClass.Timeout, "The provider sent no response headers within the timeout.", exception) { Silent = true };
        }

        if (exception is JsonException)
        {
            return new ProviderException(provider, ProviderErrorClass.MalformedStream, "The provider sent a response that is not valid JSON: " + exception.Message, exception);
        }

        if (inBody && exception is IOException or HttpRequestException)
        {
            return new ProviderException(provider, ProviderErrorClass.StreamCut, "The connection ended before the response was complete: " + exception.Message, exception);
        }

        if (exception is HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.ResponseEnded or HttpRequestError.SecureConnectionError }
            or HttpRequestException { InnerException: IOException or SocketException }
            or IOException or SocketException)
        {
            return new ProviderException(provider, ProviderErrorClass.ConnectionReset, "Connection to the provider failed: " + exception.Message, exception);
        }

        return new ProviderException(provider, ProviderErrorClass.Unknown, "Provider call failed: " + exception.Message, exception);
    }

    /// <summary>
    /// The wait the provider asked for: <c>retry-after-ms</c>, <c>Retry-After</c> (seconds or an
    /// HTTP date), or the larger of OpenAI's <c>x-ratelimit-reset-requests/tokens</c> ("1s", "6m0s", "20ms").
    /// </summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders? headers, DateTimeOffset now, bool includeRateLimitReset = true)
    {
        if (headers is null)
        {
            return null;
        }

        if (Header(headers, "retry-after-ms") is { } ms && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var millis) && millis >= 0)
        {
            return TimeSpan.FromMilliseconds(millis);
        }

        if (Header(headers, "Retry-After") is { } value)
        {
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
                || DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date))
            {
                var wait = date - now;
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        if (!includeRateLimitReset)
        {
            return null;
        }

        TimeSpan? reset = null;
        foreach (var name in (ReadOnlySpan<string>)["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"])
        {
            if (Header(headers, name) is { } raw && ParseGoDuration(raw) is { } parsed && (reset is null || parsed > reset))
            {
                reset = parsed;
            }
        }

        return reset;
    }

    /// <summary>Parses durations like "1s", "6m0s", "1h2m3.5s", "20ms" (OpenAI's reset headers) and "17s" (Google RetryInfo).</summary>
    public static TimeSpan? ParseGoDuration(string value)
    {
        var span = value.AsSpan().Trim();
        if (span.IsEmpty)
        {
            return null;
        }

        var total = 0d;
        while (!span.IsEmpty)
        {
            var i = 0;
            while (i < span.Length && (char.IsAsciiDigit(span[i]) || span[i] == '.'))
            {
                i++;
            }

            if (i == 0 || !double.TryParse(span[..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }

            span = span[i..];
            var j = 0;
            while (j < span.Length && char.IsAsciiLetter(span[j]))
            {
                j++;
            }

            var unit = span[..j];
            span = span[j..];
            total += unit switch
            {
                "h" => number * 3600_000,
                "m" => number * 60_000,
                "s" or "" => number * 1000,
                "ms" => number,
                "us" or "µs" => number / 1000,
                "ns" => number / 1_000_000,
                _ => double.NaN,
            };
            if (double.IsNaN(total))
            {
                return null;
            }
        }

        return TimeSpan.FromMilliseconds(total);
    }

    /// <summary>Reads the provider's error body, whichever of the three shapes it has. Tolerates non-JSON bodies.</summary>
    public static ProviderErrorBody ParseBody(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return default;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0)
            {
                // Gemini's streaming endpoint wraps errors in an array when alt=sse is missing.
                root = root[0];
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                return new ProviderErrorBody(null, null, Trim(body), null);
            }

            if (root.TryGetProperty("error", out var text) && text.ValueKind == JsonValueKind.String)
            {
                // xAI: the message is the "error" string; its "code" is a sentence, kept as the provider's code.
                return new ProviderErrorBody(String(root, "code"), null, text.GetString(), null);
            }

            var error = root.TryGetProperty("error", out var inner) && inner.ValueKind == JsonValueKind.Object ? inner : root;
            var message = String(error, "message");
            var type = String(error, "type");
            // OpenAI: string code; Google: numeric code with a string status, which says more.
            var code = String(error, "status") ?? String(error, "code");
            TimeSpan? retryDelay = null;
            string? reason = null;
            if (error.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array)
            {
                // Google: RetryInfo {"retryDelay":"17s"}, ErrorInfo {"reason":"API_KEY_INVALID"}.
                foreach (var detail in details.EnumerateArray())
                {
                    if (detail.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }

                    if (String(detail, "retryDelay") is { } delay)
                    {
                        retryDelay = ParseGoDuration(delay);
                    }

                    reason ??= String(detail, "reason");
                }
            }

            return new ProviderErrorBody(code, type, message, retryDelay, reason);
        }
        catch (JsonException)
        {
            return new ProviderErrorBody(null, null, Trim(body), null);
        }
    }

    /// <summary>
    /// Removes the key, and any echoed prefix of it (OpenAI answers "Incorrect API key provided:
    /// sk-abc***"), from a provider message before it goes anywhere.
    /// </summary>
    public static string? Scrub(string? message, string? apiKey)
    {
        if (string.IsNullOrEmpty(message) || string.IsNullOrEmpty(apiKey))
        {
            return message;
        }

        message = message.Replace(apiKey, "[redacted]", StringComparison.Ordinal);
        for (var length = Math.Min(apiKey.Length - 1, 64); length >= 4; length--)
        {
            var prefix = apiKey[..length];
            var at = message.IndexOf(prefix, StringComparison.Ordinal);
            if (at >= 0)
            {
                var end = at + length;
                while (end < message.Length && !char.IsWhiteSpace(message[end]) && message[end] != '.' && message[end] != '"')
                {
                    end++;
                }

                message = string.Concat(message.AsSpan(0, at), "[redacted]", message.AsSpan(end));
            }
        }

        return message;
    }

    private static ProviderErrorClass ClassifyRejection(string? code, string? type, string text)
    {
        if (ContextLengthCodes.Any(c => Is(code, c)) || ContextLengthPhrases.Any(p => text.Contains(p, StringComparison.Ordinal)))
        {
            return ProviderErrorClass.ContextLengthExceeded;
        }

        if (PrefillPhrases.Any(p => text.Contains(p, StringComparison.Ordinal)))
        {
            return ProviderErrorClass.PrefillRejected;
        }

        if (ContentFilterCodes.Any(c => Is(code, c) || Is(type, c)) || text.Contains("content management policy", StringComparison.Ordinal)
            || text.Contains("safety system", StringComparison.Ordinal))
        {
            return ProviderErrorClass.ContentFiltered;
        }

        if (Is(code, "rate_limit_exceeded") || Is(type, "rate_limit_error") || Is(code, "RESOURCE_EXHAUSTED"))
        {
            return ProviderErrorClass.RateLimited;
        }

        if (Is(code, "invalid_api_key") || Is(type, "authentication_error") || Is(type, "permission_error") || Is(code, "PERMISSION_DENIED") || Is(code, "UNAUTHENTICATED")
            || AuthenticationPhrases.Any(p => text.Contains(p, StringComparison.Ordinal)))
        {
            return ProviderErrorClass.Authentication;
        }

        return ProviderErrorClass.InvalidRequest;
    }

    private static string Describe(int status, ProviderErrorBody error) =>
        string.Create(CultureInfo.InvariantCulture, $"HTTP {status}: {Trim(error.Message) ?? ReasonPhrase(status)}");

    private static string ReasonPhrase(int status) => status switch
    {
        529 => "Overloaded",
        _ => Enum.IsDefined((HttpStatusCode)status) ? ((HttpStatusCode)status).ToString() : "error",
    };

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            }
            : null;

    private static string? Header(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static bool Is(string? value, string expected) => string.Equals(value, expected, StringComparison.OrdinalIgnoreCase);

    private static string Lower(string? message) => message?.ToLowerInvariant() ?? "";

    private static string? Trim(string? message) =>
        message is null ? null : message.Length <= MaxMessageLength ? message : message[..MaxMessageLength] + "…";
}
