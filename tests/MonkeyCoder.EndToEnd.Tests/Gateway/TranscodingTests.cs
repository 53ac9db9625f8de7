using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

[Collection(GatewayCollection.Name)]
public sealed class TranscodingTests(GatewayFixture fixture)
{
    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    [Fact]
    public async Task PostExecute_Json_ReturnsCompletedAnswer()
    {
        using var response = await fixture.Http.PostAsync("/v1/execute",
            Json("""{"taskType":"TASK_TYPE_CODE_GENERATION","prompt":"fizzbuzz in python","maxTokens":64}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Equal("EXECUTION_STATUS_COMPLETED", root.GetProperty("status").GetString());
        Assert.Equal("simulated", root.GetProperty("provider").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("content").GetString()));
        Assert.True(root.GetProperty("usage").GetProperty("outputTokens").GetInt64() > 0);
    }

    [Fact]
    public async Task PostExecuteStream_Json_NewlineDelimitedEventsEndingInFinal()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/execute:stream")
        {
            Content = Json("""{"taskType":"TASK_TYPE_DOCUMENTATION","prompt":"document the retry policy","maxTokens":120}"""),
        };
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var kinds = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            kinds.Add(doc.RootElement.EnumerateObject().Single().Name);
            if (kinds[^1] == "final")
            {
                Assert.True(doc.RootElement.GetProperty("final").GetProperty("usage").GetProperty("outputTokens").GetInt64() > 0);
            }
        }

        Assert.Equal("started", kinds[0]);
        Assert.Equal("final", kinds[^1]);
        Assert.True(kinds.Count(k => k == "delta") >= 2);
    }

    [Fact]
    public async Task PostExecute_InvalidInput_400WithGoogleRpcStatusDetails()
    {
        using var response = await fixture.Http.PostAsync("/v1/execute",
            Json("""{"taskType":"TASK_TYPE_CODE_GENERATION","prompt":"","maxTokens":0}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Equal(3, root.GetProperty("code").GetInt32());
        var details = root.GetProperty("details").EnumerateArray().ToList();
        Assert.Contains(details, d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.ErrorInfo"
            && d.GetProperty("reason").GetString() == "INVALID_ARGUMENT");
        var badRequest = details.Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.BadRequest");
        var fields = badRequest.GetProperty("fieldViolations").EnumerateArray().Select(v => v.GetProperty("field").GetString()).ToList();
        Assert.Contains("prompt", fields);
        Assert.Contains("max_tokens", fields);
    }

    [Fact]
    public async Task GetModels_ListsCatalog()
    {
        var body = await fixture.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        Assert.True(body.GetProperty("models").GetArrayLength() > 0);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task HealthEndpoints_Embedded_Ok(string path)
    {
        using var response = await fixture.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task PostFeedback_AfterExecute_NamesTheAnsweringModel()
    {
        using var executed = await fixture.Http.PostAsync("/v1/execute",
            Json("""{"taskType":"TASK_TYPE_CHAT","prompt":"explain retries","maxTokens":16}"""));
        using var execution = JsonDocument.Parse(await executed.Content.ReadAsStringAsync());
        var id = execution.RootElement.GetProperty("executionId").GetString();

        using var response = await fixture.Http.PostAsync("/v1/feedback", Json($$"""{"executionId":"{{id}}","rating":4,"comment":"clear"}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(id, body.RootElement.GetProperty("executionId").GetString());
        Assert.Equal(execution.RootElement.GetProperty("model").GetString(), body.RootElement.GetProperty("model").GetString());

        using var missing = await fixture.Http.PostAsync("/v1/feedback", Json("""{"executionId":"exec_nope","rating":4}"""));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
