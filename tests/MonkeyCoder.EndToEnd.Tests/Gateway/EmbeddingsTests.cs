using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.EndToEnd.Tests.Fakes;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>
/// <c>POST /openai/v1/embeddings</c> on a real REST host, passed through to fake OpenAI and Gemini
/// embeddings endpoints; the usage record (GET /v1/executions) carries the tokens and their cost.
/// </summary>
public sealed class EmbeddingsTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Embeddings_OpenAiAndGemini_VectorsInOrderUsageRecordedAndCharged()
    {
        await using var fake = new FakeEmbeddingsServer();
        await fake.StartAsync();
        await using var host = await HostProcess.StartGatewayAsync(new Dictionary<string, string>
        {
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
            ["OPENAI_API_KEY"] = fake.OpenAiKey,
            ["OPENAI_BASE_URL"] = new Uri(fake.Root, "/v1").ToString(),
            ["GOOGLE_API_KEY"] = fake.GeminiKey,
            ["GOOGLE_BASE_URL"] = fake.Root.ToString(),
        });
        using var http = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);

        using (var response = await http.PostAsync("/openai/v1/embeddings", Json("""{"model":"text-embedding-3-small","input":["alpha","beta gamma"]}""")))
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            Assert.Equal("list", root.GetProperty("object").GetString());
            Assert.Equal("text-embedding-3-small", root.GetProperty("model").GetString());
            var data = root.GetProperty("data");
            Assert.Equal(2, data.GetArrayLength());
            Assert.Equal(FakeEmbeddingsServer.VectorOf("alpha"), data[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray());
            Assert.Equal(FakeEmbeddingsServer.VectorOf("beta gamma"), data[1].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray());
            Assert.Equal(1, data[1].GetProperty("index").GetInt32());
            Assert.Equal(14, root.GetProperty("usage").GetProperty("prompt_tokens").GetInt64());
            Assert.Equal(14, root.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        }

        var tokens = new TokenCounter();
        using (var response = await http.PostAsync("/openai/v1/embeddings", Json("""{"model":"gemini-embedding-001","input":"delta"}""")))
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            using var doc = JsonDocument.Parse(text);
            Assert.Equal(FakeEmbeddingsServer.VectorOf("delta"), doc.RootElement.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray());
            // Gemini reports no tokens: the tokenizer's count is what is recorded.
            Assert.Equal(tokens.Count("delta"), doc.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt64());
        }

        var requests = fake.Requests.ToList();
        Assert.Equal(2, requests.Count);
        Assert.Equal("/v1/embeddings", requests[0].Path);
        Assert.Equal("/v1beta/models/gemini-embedding-001:batchEmbedContents", requests[1].Path);
        Assert.Equal("models/gemini-embedding-001", requests[1].Body.GetProperty("requests")[0].GetProperty("model").GetString());

        // Usage: one record per call, the provider's tokens, priced by the catalog (0.02 and 0.15 USD per million).
        JsonElement[] records = [];
        for (var i = 0; i < 100 && records.Length < 2; i++)
        {
            using var list = await http.GetAsync("/v1/executions?pageSize=50");
            using var doc = JsonDocument.Parse(await list.Content.ReadAsStringAsync());
            records = doc.RootElement.TryGetProperty("executions", out var executions)
                ? executions.EnumerateArray().Select(e => e.Clone()).ToArray()
                : [];
            if (records.Length < 2)
            {
                await Task.Delay(100);
            }
        }

        var openAi = Assert.Single(records, r => r.GetProperty("model").GetString() == "text-embedding-3-small");
        Assert.Equal("openai", openAi.GetProperty("provider").GetString());
        Assert.Equal(14, openAi.GetProperty("billed").GetProperty("inputTokens").GetInt64());
        Assert.Equal(14 * 0.02 / 1_000_000, openAi.GetProperty("billed").GetProperty("costUsd").GetDouble(), 12);
        var gemini = Assert.Single(records, r => r.GetProperty("model").GetString() == "gemini-embedding-001");
        Assert.Equal(tokens.Count("delta") * 0.15 / 1_000_000, gemini.GetProperty("billed").GetProperty("costUsd").GetDouble(), 12);
    }

    [Fact]
    public async Task Embeddings_UnknownModelBadInputAndDisabledProvider_OpenAiErrors()
    {
        await using var host = await HostProcess.StartGatewayAsync(new Dictionary<string, string> { ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey });
        using var http = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);

        using (var response = await http.PostAsync("/openai/v1/embeddings", Json("""{"model":"sim-pro","input":"x"}""")))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("model_not_found", (await OpenAiTests.ErrorOf(response)).GetProperty("code").GetString());
        }

        using (var response = await http.PostAsync("/openai/v1/embeddings", Json("""{"model":"text-embedding-3-small","input":[1,2],"encoding_format":"base64"}""")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("input[0]", (await OpenAiTests.ErrorOf(response)).GetProperty("param").GetString());
        }

        using (var response = await http.PostAsync("/openai/v1/embeddings", Json("""{"model":"text-embedding-3-small","input":"x"}""")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("no_model_available", (await OpenAiTests.ErrorOf(response)).GetProperty("code").GetString());
        }
    }
}
