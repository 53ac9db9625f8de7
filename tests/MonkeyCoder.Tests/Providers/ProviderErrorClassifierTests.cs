using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Providers.Http;

namespace MonkeyCoder.Tests.Providers;

public sealed class ProviderErrorClassifierTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static System.Net.Http.Headers.HttpResponseHeaders Headers(params (string Name, string Value)[] headers)
    {
        var response = new HttpResponseMessage();
        foreach (var (name, value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }

        return response.Headers;
    }

    [Theory]
    [InlineData("Retry-After", "2", 2000)]
    [InlineData("Retry-After", "0.5", 500)]
    [InlineData("retry-after-ms", "1500", 1500)]
    [InlineData("Retry-After", "Wed, 25 Nov 2026 12:00:30 GMT", 30_000)]
    [InlineData("Retry-After", "Wed, 25 Nov 2026 11:59:00 GMT", 0)]
    [InlineData("x-ratelimit-reset-tokens", "6m0s", 360_000)]
    [InlineData("x-ratelimit-reset-requests", "20ms", 20)]
    public void RetryAfter_HeaderForms_ParsedAsWait(string name, string value, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), ProviderErrorClassifier.RetryAfter(Headers((name, value)), Now));
    }

    [Fact]
    public void RetryAfter_BothOpenAiResetHeaders_TakesTheLonger()
    {
        var wait = ProviderErrorClassifier.RetryAfter(Headers(("x-ratelimit-reset-requests", "1s"), ("x-ratelimit-reset-tokens", "1m30s")), Now);
        Assert.Equal(TimeSpan.FromSeconds(90), wait);
    }

    [Theory]
    [InlineData("1h2m3.5s", 3_723_500)]
    [InlineData("17s", 17_000)]
    [InlineData("250ms", 250)]
    public void ParseGoDuration_Valid_Parsed(string value, double ms) =>
        Assert.Equal(TimeSpan.FromMilliseconds(ms), ProviderErrorClassifier.ParseGoDuration(value));

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("5 minutes")]
    public void ParseGoDuration_Invalid_Null(string value) => Assert.Null(ProviderErrorClassifier.ParseGoDuration(value));

    [Theory]
    // OpenAI / Groq / xAI
    [InlineData(400, """{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""", nameof(ProviderErrorClass.ContextLengthExceeded), "context_length_exceeded")]
    [InlineData(429, """{"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}}""", nameof(ProviderErrorClass.RateLimited), "rate_limit_exceeded")]
    [InlineData(401, """{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""", nameof(ProviderErrorClass.Authentication), "invalid_api_key")]
    [InlineData(400, """{"error":{"message":"Invalid prompt: your prompt was flagged as potentially violating our usage policy.","type":"invalid_request_error","param":null,"code":"invalid_prompt"}}""", nameof(ProviderErrorClass.ContentFiltered), "invalid_prompt")]
    [InlineData(400, """{"error":{"message":"The response was filtered due to the prompt triggering content management policy.","type":null,"param":"prompt","code":"content_filter"}}""", nameof(ProviderErrorClass.ContentFiltered), "content_filter")]
    [InlineData(400, """{"error":{"message":"Unsupported parameter: 'temperature'","type":"invalid_request_error","param":"temperature","code":"unsupported_parameter"}}""", nameof(ProviderErrorClass.InvalidRequest), "unsupported_parameter")]
    [InlineData(500, """{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}""", nameof(ProviderErrorClass.ServerError), "server_error")]
    [InlineData(503, """{"error":{"message":"The engine is currently overloaded","type":"server_error","param":null,"code":null}}""", nameof(ProviderErrorClass.Overloaded), "server_error")]
    // Anthropic
    [InlineData(400, """{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}""", nameof(ProviderErrorClass.ContextLengthExceeded), "invalid_request_error")]
    [InlineData(529, """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", nameof(ProviderErrorClass.Overloaded), "overloaded_error")]
    [InlineData(403, """{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission"}}""", nameof(ProviderErrorClass.Authentication), "permission_error")]
    [InlineData(413, """{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}""", nameof(ProviderErrorClass.InvalidRequest), "request_too_large")]
    // Gemini
    [InlineData(400, """{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}""", nameof(ProviderErrorClass.ContextLengthExceeded), "INVALID_ARGUMENT")]
    [InlineData(400, """{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}""", nameof(ProviderErrorClass.Authentication), "INVALID_ARGUMENT")]
    [InlineData(503, """{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}""", nameof(ProviderErrorClass.Overloaded), "UNAVAILABLE")]
    [InlineData(504, """{"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}""", nameof(ProviderErrorClass.Timeout), "DEADLINE_EXCEEDED")]
    // xAI: the message is a string beside a sentence-long code; a bad key is a 400
    [InlineData(400, """{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***ys. You can obtain an API key from https://console.x.ai."}""", nameof(ProviderErrorClass.Authentication), "Client specified an invalid argument")]
    [InlineData(400, """{"code":"Client specified an invalid argument","error":"This model's maximum prompt length is 131072 but the request contains 140000 tokens."}""", nameof(ProviderErrorClass.ContextLengthExceeded), "Client specified an invalid argument")]
    [InlineData(400, """{"code":"Client specified an invalid argument","error":"Argument not supported on this model: presencePenalty"}""", nameof(ProviderErrorClass.InvalidRequest), "Client specified an invalid argument")]
    [InlineData(429, """{"code":"Some resource has been exhausted","error":"Your team has either used all available credits or reached its monthly spending limit."}""", nameof(ProviderErrorClass.RateLimited), "Some resource has been exhausted")]
    // Proxies in front of a provider
    [InlineData(502, "<html><body>502 Bad Gateway</body></html>", nameof(ProviderErrorClass.Overloaded), null)]
    public void FromResponse_ProviderErrorBodies_Classified(int status, string body, string expected, string? code)
    {
        var ex = ProviderErrorClassifier.FromResponse("p", status, null, body, Now);

        Assert.Equal(Enum.Parse<ProviderErrorClass>(expected), ex.ErrorClass);
        Assert.Equal(status, ex.HttpStatus);
        Assert.Equal(code, ex.ProviderCode);
        Assert.StartsWith($"HTTP {status}: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("{", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromResponse_GeminiRetryInfo_UsedWhenNoHeader()
    {
        const string body = """{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]}}""";
        var ex = ProviderErrorClassifier.FromResponse("google", 429, null, body, Now);

        Assert.Equal(ProviderErrorClass.RateLimited, ex.ErrorClass);
        Assert.Equal(TimeSpan.FromSeconds(17), ex.RetryAfter);
    }

    [Fact]
    public void FromResponse_OverloadedWithOnlyRateLimitResetHeaders_NoRetryAfter()
    {
        var headers = Headers(("x-ratelimit-reset-requests", "6ms"));
        Assert.Null(ProviderErrorClassifier.FromResponse("openai", 503, headers, "{}", Now).RetryAfter);
        Assert.Equal(TimeSpan.FromMilliseconds(6), ProviderErrorClassifier.FromResponse("openai", 429, headers, "{}", Now).RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(3), ProviderErrorClassifier.FromResponse("anthropic", 529, Headers(("Retry-After", "3")), "{}", Now).RetryAfter);
    }

    [Fact]
    public void FromResponse_RetryAfterOnNonRetryableError_Ignored()
    {
        var ex = ProviderErrorClassifier.FromResponse("p", 400, Headers(("Retry-After", "5")), "{}", Now);
        Assert.Null(ex.RetryAfter);
    }

    [Fact]
    public void FromResponse_MessageEchoesKey_KeyScrubbed()
    {
        const string key = "sk-proj-abcdef0123456789";
        var body = $$$"""{"error":{"message":"Incorrect API key provided: sk-pro************6789. Also {{{key}}}.","type":"invalid_request_error","code":"invalid_api_key"}}""";
        var ex = ProviderErrorClassifier.FromResponse("openai", 401, null, body, Now, key);

        Assert.DoesNotContain(key, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-pro", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[redacted]", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", nameof(ProviderErrorClass.Overloaded))]
    [InlineData("""{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}""", nameof(ProviderErrorClass.RateLimited))]
    [InlineData("""{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}""", nameof(ProviderErrorClass.Overloaded))]
    [InlineData("""{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}""", nameof(ProviderErrorClass.Overloaded))]
    [InlineData("""{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 1 tokens > 0 maximum"}}""", nameof(ProviderErrorClass.ContextLengthExceeded))]
    public void FromStreamError_InStreamErrorObjects_Classified(string body, string expected)
    {
        Assert.Equal(Enum.Parse<ProviderErrorClass>(expected), ProviderErrorClassifier.FromStreamError("p", body).ErrorClass);
    }

    public static TheoryData<Exception, bool, bool, string> Exceptions => new()
    {
        { new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused)), false, false, nameof(ProviderErrorClass.ConnectionReset) },
        { new HttpRequestException("An error occurred while sending the request.", new IOException("The response ended prematurely.")), false, false, nameof(ProviderErrorClass.ConnectionReset) },
        { new IOException("Connection reset by peer"), false, true, nameof(ProviderErrorClass.StreamCut) },
        { new HttpIOException(HttpRequestError.ResponseEnded, "The response ended prematurely"), false, true, nameof(ProviderErrorClass.StreamCut) },
        { new TaskCanceledException(), true, false, nameof(ProviderErrorClass.Timeout) },
        { new TaskCanceledException(), true, true, nameof(ProviderErrorClass.Stalled) },
        { new JsonException("bad"), false, true, nameof(ProviderErrorClass.MalformedStream) },
        { new InvalidOperationException("odd"), false, false, nameof(ProviderErrorClass.Unknown) },
    };

    [Theory]
    [MemberData(nameof(Exceptions))]
    public void FromException_TransportFailures_Classified(Exception exception, bool timedOut, bool inBody, string expected)
    {
        var ex = ProviderErrorClassifier.FromException("p", exception, timedOut, inBody);
        Assert.Equal(Enum.Parse<ProviderErrorClass>(expected), ex.ErrorClass);
        Assert.Same(exception, ex.InnerException);
    }
}
