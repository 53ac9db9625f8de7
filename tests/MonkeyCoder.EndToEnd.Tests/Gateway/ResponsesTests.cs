using System.Net;
using System.Text;
using System.Text.Json;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>The OpenAI Responses API endpoint of the REST host, over real HTTP against the simulated models.</summary>
[Collection(EdgeGatewayCollection.Name)]
public sealed class ResponsesTests(EdgeGatewayFixture fixture)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Responses_StringInput_MessageOutputAndUsage()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/responses",
            Json("""{"model":"sim-pro","instructions":"Be brief.","input":"explain retries with backoff","max_output_tokens":40,"store":false}"""));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        Assert.StartsWith("resp_", root.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("response", root.GetProperty("object").GetString());
        Assert.Contains(root.GetProperty("status").GetString(), new[] { "completed", "incomplete" });
        Assert.Equal("sim-pro", root.GetProperty("model").GetString());
        var message = Assert.Single(root.GetProperty("output").EnumerateArray());
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        var part = Assert.Single(message.GetProperty("content").EnumerateArray());
        Assert.Equal("output_text", part.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(part.GetProperty("text").GetString()));
        Assert.Equal(0, part.GetProperty("annotations").GetArrayLength());
        var usage = root.GetProperty("usage");
        Assert.True(usage.GetProperty("input_tokens").GetInt64() > 0);
        Assert.InRange(usage.GetProperty("output_tokens").GetInt64(), 1, 40);
        Assert.Equal(usage.GetProperty("input_tokens").GetInt64() + usage.GetProperty("output_tokens").GetInt64(), usage.GetProperty("total_tokens").GetInt64());
        Assert.Equal(0, usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt64());
        Assert.True(usage.GetProperty("input_tokens_details").TryGetProperty("cached_tokens", out _));
    }

    [Fact]
    public async Task Responses_MaxOutputTokensReached_Incomplete()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/responses",
            Json("""{"model":"sim-fast","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"write a long essay on caching"}]}],"max_output_tokens":3}"""));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("incomplete", doc.RootElement.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", doc.RootElement.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal(3, doc.RootElement.GetProperty("usage").GetProperty("output_tokens").GetInt64());
    }

    [Fact]
    public async Task Responses_Stream_EventSequenceWithSequenceNumbersEndsCompleted()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/responses")
        {
            Content = Json("""{"model":"sim-pro","stream":true,"max_output_tokens":60,"input":"document the retry policy"}"""),
        };
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();

        var events = new List<(string Name, JsonElement Data)>();
        foreach (var block in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            Assert.StartsWith("event: ", lines[0], StringComparison.Ordinal);
            Assert.StartsWith("data: ", lines[1], StringComparison.Ordinal);
            using var doc = JsonDocument.Parse(lines[1]["data: ".Length..]);
            events.Add((lines[0]["event: ".Length..], doc.RootElement.Clone()));
        }

        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal(events[i].Name, events[i].Data.GetProperty("type").GetString());
            Assert.Equal(i, events[i].Data.GetProperty("sequence_number").GetInt64());
        }

        var names = events.Select(e => e.Name).Where(n => n != "response.output_text.delta").ToList();
        Assert.Equal(
            ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
             "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"],
            names);
        var deltas = string.Concat(events.Where(e => e.Name == "response.output_text.delta").Select(e => e.Data.GetProperty("delta").GetString()));
        Assert.NotEmpty(deltas);
        Assert.Equal(deltas, events.Single(e => e.Name == "response.output_text.done").Data.GetProperty("text").GetString());
        var completed = events[^1].Data.GetProperty("response");
        Assert.Equal("sim-pro", completed.GetProperty("model").GetString());
        Assert.Equal(deltas, completed.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.True(completed.GetProperty("usage").GetProperty("output_tokens").GetInt64() > 0);
        Assert.Equal(events[0].Data.GetProperty("response").GetProperty("id").GetString(), completed.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Responses_BuiltInTool_400InOpenAiShapeNamingTheTool()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/responses",
            Json("""{"model":"sim-pro","input":"search the web","tools":[{"type":"web_search"}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await OpenAiTests.ErrorOf(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("tools[0].type", error.GetProperty("param").GetString());
        Assert.Contains("web_search", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Responses_PreviousResponseId_400NothingStored()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/responses",
            Json("""{"model":"sim-pro","input":"and then?","previous_response_id":"resp_123"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("previous_response_id", (await OpenAiTests.ErrorOf(response)).GetProperty("param").GetString());
    }

    [Fact]
    public async Task Responses_UnknownModel_404ModelNotFound()
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/responses", Json("""{"model":"gpt-imaginary","input":"hi"}"""));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model_not_found", (await OpenAiTests.ErrorOf(response)).GetProperty("code").GetString());
    }
}
