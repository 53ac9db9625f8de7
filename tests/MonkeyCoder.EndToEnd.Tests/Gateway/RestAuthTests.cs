using System.Net;
using System.Text.Json;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

[Collection(GatewayCollection.Name)]
public sealed class RestAuthTests(GatewayFixture fixture)
{
    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    [Fact]
    public async Task PostExecute_NoCredential_401WithCredentialMissing()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Host.Address };
        using var response = await anonymous.PostAsync("/v1/execute", Json("""{"taskType":"TASK_TYPE_CHAT","prompt":"hi","maxTokens":4}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(body.RootElement.GetProperty("details").EnumerateArray(), d => d.GetProperty("reason").GetString() == "CREDENTIAL_MISSING");
    }

    [Fact]
    public async Task GetModels_KeyWithTwoPerMinute_ThirdCall429WithRetryAfterAndRateLimitHeaders()
    {
        using var create = await fixture.Http.PostAsync("/v1/api-keys", Json("""{"name":"rest-limited","scopes":["models:read"],"requestsPerMinute":2}"""));
        Assert.Equal(HttpStatusCode.OK, create.StatusCode);
        using var created = JsonDocument.Parse(await create.Content.ReadAsStringAsync());
        var secret = created.RootElement.GetProperty("secret").GetString()!;

        using var client = new HttpClient { BaseAddress = fixture.Host.Address };
        client.DefaultRequestHeaders.Add("x-api-key", secret);
        using var first = await client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("2", first.Headers.GetValues("x-ratelimit-limit").Single());
        Assert.Equal("1", first.Headers.GetValues("x-ratelimit-remaining").Single());
        using var second = await client.GetAsync("/v1/models");
        Assert.Equal("0", second.Headers.GetValues("x-ratelimit-remaining").Single());

        using var third = await client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        var retryAfter = int.Parse(third.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
        Assert.Equal("0", third.Headers.GetValues("x-ratelimit-remaining").Single());
        Assert.True(third.Headers.Contains("x-ratelimit-reset"));
        using var body = JsonDocument.Parse(await third.Content.ReadAsStringAsync());
        var details = body.RootElement.GetProperty("details").EnumerateArray().ToList();
        Assert.Contains(details, d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.RetryInfo");
        Assert.Contains(details, d => d.TryGetProperty("reason", out var r) && r.GetString() == "RATE_LIMITED");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OpenAiChat_KeyWhoseBudgetCannotHoldTheCall_429BudgetExceededBeforeAnythingIsSpent(bool stream)
    {
        using var create = await fixture.Http.PostAsync("/v1/api-keys", Json("""{"name":"openai-tiny-budget","scopes":["execute"],"monthlyBudgetUsd":0.000001}"""));
        Assert.Equal(HttpStatusCode.OK, create.StatusCode);
        using var created = JsonDocument.Parse(await create.Content.ReadAsStringAsync());
        using var client = new HttpClient { BaseAddress = fixture.Host.Address };
        client.DefaultRequestHeaders.Authorization = new("Bearer", created.RootElement.GetProperty("secret").GetString());
        var body = $$"""{"model":"auto","max_tokens":50,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"fizzbuzz in python {{Guid.NewGuid():N}}"}]}""";

        // The call's worst-case cost is held before it runs (as on gRPC): one that could cost more than
        // the budget never reaches a provider, streamed or not, and the refusal is OpenAI's error shape.
        using var refused = await client.PostAsync("/v1/chat/completions", Json(body));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.Contains("Retry-After"));
        Assert.StartsWith("application/json", refused.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("budget_exceeded", error.RootElement.GetProperty("error").GetProperty("code").GetString());

        using var usage = await client.GetAsync("/v1/auth/whoami");
        var me = await usage.Content.ReadAsStringAsync();
        Assert.True(usage.IsSuccessStatusCode, me);
        using var whoami = JsonDocument.Parse(me);
        Assert.Equal(0, whoami.RootElement.GetProperty("keyBudget").TryGetProperty("spentUsd", out var spent) ? spent.GetDouble() : 0);
    }
}
