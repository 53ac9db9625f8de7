using System.Net;
using System.Text;
using System.Text.Json;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>The OpenAI-compatible endpoints of the REST host, over real HTTP against the simulated models.</summary>
[Collection(EdgeGatewayCollection.Name)]
public sealed class OpenAiTests(EdgeGatewayFixture fixture)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    internal static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = doc.RootElement.GetProperty("error").Clone();
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        return error;
    }

    private async Task<JsonElement> CompleteAsync(string body, string path = "/openai/v1/chat/completions")
    {
        using var response = await fixture.Http.PostAsync(path, Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    [Theory]
    [InlineData("sim-pro")]
    [InlineData("sim-fast")]
    public async Task ChatCompletion_NamedCatalogModel_AnswersWithItAndNamesIt(string model)
    {
        var root = await CompleteAsync($$"""{"model":"{{model}}","max_tokens":40,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"explain retries with backoff"}]}""");
        Assert.Equal(model, root.GetProperty("model").GetString());
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        var choice = root.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.False(string.IsNullOrEmpty(choice.GetProperty("message").GetProperty("content").GetString()));
        Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        var usage = root.GetProperty("usage");
        Assert.True(usage.GetProperty("prompt_tokens").GetInt64() > 0);
        Assert.InRange(usage.GetProperty("completion_tokens").GetInt64(), 1, 40);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64() + usage.GetProperty("completion_tokens").GetInt64(), usage.GetProperty("total_tokens").GetInt64());
    }

    [Fact]
    public async Task ChatCompletion_MaxTokensReached_FinishReasonLength()
    {
        var root = await CompleteAsync("""{"model":"sim-fast","max_tokens":3,"messages":[{"role":"user","content":"write a long essay on caching"}]}""");
        Assert.Equal("length", root.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(3, root.GetProperty("usage").GetProperty("completion_tokens").GetInt64());
    }

    [Fact]
    public async Task ChatCompletion_V1Alias_SameSurface()
    {
        var root = await CompleteAsync("""{"model":"sim-pro","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""", "/v1/chat/completions");
        Assert.Equal("sim-pro", root.GetProperty("model").GetString());
    }

    [Fact]
    public async Task ChatCompletion_Auto_RoutedModelNamed()
    {
        var root = await CompleteAsync("""{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Contains(root.GetProperty("model").GetString(), new[] { "sim-fast", "sim-pro" });
    }

    [Fact]
    public async Task ChatCompletion_RequestedModelUnavailable_RequestFallbackAnswers()
    {
        // offline-small has no catalog chain and its provider is not enabled: the request's list decides.
        var root = await CompleteAsync("""{"model":"offline-small","fallbacks":["sim-pro"],"max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal("sim-pro", root.GetProperty("model").GetString());
        var other = await CompleteAsync("""{"model":"offline-small","fallbacks":["sim-fast","sim-pro"],"max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal("sim-fast", other.GetProperty("model").GetString());
    }

    [Fact]
    public async Task ChatCompletion_CatalogChainBeforeRequestFallbacks()
    {
        // offline-large's catalog chain is [sim-pro]; the request lists sim-fast after it.
        var root = await CompleteAsync("""{"model":"offline-large","fallbacks":["sim-fast"],"max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal("sim-pro", root.GetProperty("model").GetString());
    }

    [Fact]
    public async Task ChatCompletion_NoUsableModelInChain_503OpenAiError()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/chat/completions",
            Json("""{"model":"offline-small","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("no_model_available", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ChatCompletion_UnknownModel_404ModelNotFound()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/chat/completions",
            Json("""{"model":"gpt-imaginary","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("not_found_error", error.GetProperty("type").GetString());
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ChatCompletion_InvalidRequest_400WithParam()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/chat/completions", Json("""{"model":"sim-fast","messages":[]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task ChatCompletion_MalformedJson_400InvalidJson()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/chat/completions", Json("""{"model":"sim-fast","messages":[{"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_json", (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task ChatCompletion_Stream_SseChunksFinishUsageThenDone()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
        {
            Content = Json("""{"model":"sim-pro","stream":true,"stream_options":{"include_usage":true},"max_tokens":60,"messages":[{"role":"user","content":"document the retry policy"}]}"""),
        };
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        BrowserSafetyTests.AssertSecurityHeaders(response, docs: false);

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            Assert.StartsWith("data: ", line, StringComparison.Ordinal);
            events.Add(line["data: ".Length..]);
        }

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var text = string.Concat(chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray())
            .Select(c => c.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.True(text.Length > 20, text);
        Assert.True(chunks.Count >= 4, $"only {chunks.Count} chunks");

        var finish = chunks[^2];
        Assert.Contains(finish.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        Assert.Equal("sim-pro", finish.GetProperty("model").GetString());
        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.Equal("sim-pro", usageChunk.GetProperty("model").GetString());
        var usage = usageChunk.GetProperty("usage");
        Assert.InRange(usage.GetProperty("completion_tokens").GetInt64(), 1, 60);
        Assert.True(usage.GetProperty("prompt_tokens").GetInt64() > 0);
    }

    [Fact]
    public async Task ChatCompletion_StreamWithoutIncludeUsage_NoUsageChunk()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
        {
            Content = Json("""{"model":"sim-fast","stream":true,"max_tokens":20,"messages":[{"role":"user","content":"hi"}]}"""),
        };
        using var response = await fixture.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("\"usage\"", body, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatCompletion_StreamFailsBeforeContent_HttpErrorNotSse()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/chat/completions",
            Json("""{"model":"offline-small","stream":true,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        await ErrorOf(response);
    }

    [Fact]
    public async Task Models_ListsAutoAndEnabledCatalogModelsOnly()
    {
        using var response = await fixture.Http.GetAsync("/openai/v1/models");
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("list", doc.RootElement.GetProperty("object").GetString());
        var ids = doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Equal(["auto", "sim-fast", "sim-pro"], ids);
        Assert.All(doc.RootElement.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("object").GetString()));

        using var one = await fixture.Http.GetAsync("/openai/v1/models/sim-pro");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        using var missing = await fixture.Http.GetAsync("/openai/v1/models/offline-large");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        await ErrorOf(missing);
    }

    [Fact]
    public async Task TranscodedModels_StillServedAtV1Models()
    {
        using var response = await fixture.Http.GetAsync("/v1/models");
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(doc.RootElement.GetProperty("models").GetArrayLength() >= 2);
    }

    [Fact]
    public async Task OpenApiDocument_DescribesEveryTranscodedRpc()
    {
        using var response = await fixture.Http.GetAsync("/swagger/v1/swagger.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var paths = doc.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/v1/execute", "/v1/execute:stream", "/v1/route", "/v1/models", "/v1/providers" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"missing {path}");
        }

        Assert.True(paths.GetProperty("/v1/execute").TryGetProperty("post", out _));
    }
}
