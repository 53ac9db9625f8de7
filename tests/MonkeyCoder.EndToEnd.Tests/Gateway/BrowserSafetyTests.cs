using System.Net;
using System.Text;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>CORS, security headers and request limits of the REST host, over real HTTP.</summary>
[Collection(EdgeGatewayCollection.Name)]
public sealed class BrowserSafetyTests(EdgeGatewayFixture fixture)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private const string ChatBody = """{"model":"sim-fast","messages":[{"role":"user","content":"hi"}],"max_tokens":8}""";

    public static TheoryData<string, string, string?> Requests => new()
    {
        { "GET", "/healthz", null },
        { "GET", "/v1/models", null },
        { "POST", "/v1/execute", """{"taskType":"TASK_TYPE_CHAT","prompt":""}""" },
        { "GET", "/no/such/path", null },
        { "GET", "/openai/v1/models", null },
        { "POST", "/openai/v1/chat/completions", ChatBody },
        { "POST", "/openai/v1/chat/completions", """{"model":"nope","messages":[{"role":"user","content":"hi"}]}""" },
        { "GET", "/swagger/v1/swagger.json", null },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task AnyResponse_SecurityHeaders_AllPresent(string method, string path, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : Json(body) };
        using var response = await fixture.Http.SendAsync(request);
        AssertSecurityHeaders(response, docs: false);
        // Plain HTTP from an untrusted client: no HSTS, whatever X-Forwarded-Proto says.
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task DocsPage_RelaxedCspStillDeniesFramingAndForeignSources()
    {
        using var response = await fixture.Http.GetAsync("/docs/index.html");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertSecurityHeaders(response, docs: true);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("swagger-ui", html, StringComparison.Ordinal);
        // Every script the page loads is its own (script-src 'self' allows exactly those).
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        using var script = await fixture.Http.GetAsync("/docs/index.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Contains("/swagger/v1/swagger.json", await script.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForwardedProtoHttps_FromUntrustedClient_NoHsts()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var response = await fixture.Http.SendAsync(request);
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task Cors_AllowedOrigin_AllowOriginAndExposedHeaders()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openai/v1/models");
        request.Headers.Add("Origin", EdgeGatewayFixture.AllowedOrigin);
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(EdgeGatewayFixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Contains("Retry-After", Single(response, "Access-Control-Expose-Headers"), StringComparison.OrdinalIgnoreCase);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Cors_DeniedOrigin_NoCorsHeaders()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openai/v1/models");
        request.Headers.Add("Origin", "https://evil.example.net");
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task CorsPreflight_AllowedOrigin_AllowsMethodHeadersAndCachesForMaxAge()
    {
        using var request = Preflight("/openai/v1/chat/completions", EdgeGatewayFixture.AllowedOrigin);
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(EdgeGatewayFixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Contains("POST", Single(response, "Access-Control-Allow-Methods"), StringComparison.Ordinal);
        Assert.Contains("authorization", Single(response, "Access-Control-Allow-Headers"), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("900", Single(response, "Access-Control-Max-Age"));
        AssertSecurityHeaders(response, docs: false);
    }

    [Fact]
    public async Task CorsPreflight_DeniedOrigin_NoAllowHeaders()
    {
        using var request = Preflight("/v1/execute", "https://evil.example.net");
        using var response = await fixture.Http.SendAsync(request);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Methods"));
        Assert.False(response.Headers.Contains("Access-Control-Max-Age"));
    }

    [Fact]
    public async Task OversizeBody_Transcoded_413GoogleRpcStatus()
    {
        using var response = await fixture.Http.PostAsync("/v1/execute", Json(Oversize()));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("REQUEST_TOO_LARGE", body, StringComparison.Ordinal);
        AssertSecurityHeaders(response, docs: false);
    }

    [Fact]
    public async Task OversizeBody_OpenAi_413OpenAiErrorShape()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/chat/completions", Json(Oversize()));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var error = await OpenAiTests.ErrorOf(response);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task OversizeBody_ChunkedWithoutLength_413WhileReading()
    {
        var bytes = Encoding.UTF8.GetBytes(Oversize());
        using var content = new StreamContent(new MemoryStream(bytes));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task BodyUnderLimit_Accepted()
    {
        var prompt = new string('a', EdgeGatewayFixture.BodyLimit / 2);
        using var response = await fixture.Http.PostAsync("/openai/v1/chat/completions",
            Json($$"""{"model":"sim-fast","max_tokens":4,"messages":[{"role":"user","content":"{{prompt}}"}]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static string Oversize() =>
        $$"""{"model":"sim-fast","messages":[{"role":"user","content":"{{new string('x', EdgeGatewayFixture.BodyLimit + 1024)}}"}]}""";

    private static HttpRequestMessage Preflight(string path, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization, content-type");
        return request;
    }

    internal static string Single(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values) ? string.Join(",", values) : throw new Xunit.Sdk.XunitException($"Missing header {header}");

    internal static void AssertSecurityHeaders(HttpResponseMessage response, bool docs)
    {
        var csp = Single(response, "Content-Security-Policy");
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        if (docs)
        {
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
        }
        else
        {
            Assert.DoesNotContain("script-src", csp, StringComparison.Ordinal);
        }

        Assert.Equal("nosniff", Single(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Single(response, "X-Frame-Options"));
        Assert.Equal("no-referrer", Single(response, "Referrer-Policy"));
        Assert.Contains("camera=()", Single(response, "Permissions-Policy"), StringComparison.Ordinal);
    }
}

/// <summary>The default REST host: no CORS origins configured, loopback trusted as a proxy.</summary>
[Collection(GatewayCollection.Name)]
public sealed class DefaultEdgeTests(GatewayFixture fixture)
{
    [Fact]
    public async Task Cors_NoOriginsConfigured_NoCorsHeadersEvenOnPreflight()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/openai/v1/chat/completions");
        request.Headers.Add("Origin", "https://app.example.com");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        using var response = await fixture.Http.SendAsync(request);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        BrowserSafetyTests.AssertSecurityHeaders(response, docs: false);
    }

    [Fact]
    public async Task ForwardedProtoHttps_FromTrustedLoopbackProxy_HstsSent()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openai/v1/models");
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal("max-age=31536000; includeSubDomains", BrowserSafetyTests.Single(response, "Strict-Transport-Security"));
        BrowserSafetyTests.AssertSecurityHeaders(response, docs: false);
    }

    [Fact]
    public async Task PlainHttp_NoForwardedProto_NoHsts()
    {
        using var response = await fixture.Http.GetAsync("/healthz");
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
    }
}
