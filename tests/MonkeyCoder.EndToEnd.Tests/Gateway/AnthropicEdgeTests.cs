using System.Net;
using System.Text;
using System.Text.Json;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>The Anthropic Messages endpoints of the REST host, over real HTTP against the simulated models.</summary>
[Collection(EdgeGatewayCollection.Name)]
public sealed class AnthropicEdgeTests(EdgeGatewayFixture fixture)
{
    private const string Messages = "/anthropic/v1/messages";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A client as Anthropic's SDK is one: x-api-key and anthropic-version, no bearer token.</summary>
    private HttpClient AnthropicClient(string key = ServiceFixture.AdminKey)
    {
        var client = new HttpClient { BaseAddress = fixture.Host.Address, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add("x-api-key", key);
        client.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        client.DefaultRequestHeaders.Add("anthropic-beta", "prompt-caching-2024-07-31");
        return client;
    }

    /// <summary>Asserts Anthropic's error shape and returns error.type.</summary>
    private static async Task<string> ErrorTypeOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        Assert.Equal("error", doc.RootElement.GetProperty("type").GetString());
        var error = doc.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()), text);
        return error.GetProperty("type").GetString()!;
    }

    private async Task<JsonElement> CreateAsync(string body)
    {
        using var client = AnthropicClient();
        using var response = await client.PostAsync(Messages, Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.True(response.Headers.Contains("request-id"));
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task Message_NamedModel_AnthropicMessageShape()
    {
        var root = await CreateAsync("""{"model":"sim-pro","max_tokens":40,"system":"Be brief.","messages":[{"role":"user","content":"explain retries with backoff"}]}""");
        Assert.StartsWith("msg_", root.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("message", root.GetProperty("type").GetString());
        Assert.Equal("assistant", root.GetProperty("role").GetString());
        Assert.Equal("sim-pro", root.GetProperty("model").GetString());
        var content = root.GetProperty("content");
        Assert.Equal(1, content.GetArrayLength());
        Assert.Equal("text", content[0].GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(content[0].GetProperty("text").GetString()));
        Assert.Contains(root.GetProperty("stop_reason").GetString(), new[] { "end_turn", "max_tokens" });
        Assert.Equal(JsonValueKind.Null, root.GetProperty("stop_sequence").ValueKind);
        var usage = root.GetProperty("usage");
        Assert.True(usage.GetProperty("input_tokens").GetInt64() > 0);
        Assert.InRange(usage.GetProperty("output_tokens").GetInt64(), 1, 40);
        Assert.Equal(0, usage.GetProperty("cache_read_input_tokens").GetInt64());
        Assert.Equal(0, usage.GetProperty("cache_creation_input_tokens").GetInt64());
    }

    [Fact]
    public async Task Message_BlocksSystemAndHistoryWithCacheControl_Answers()
    {
        var root = await CreateAsync("""
            {"model":"auto","max_tokens":30,"temperature":0.2,"top_p":0.9,"metadata":{"user_id":"u-42"},"thinking":{"type":"disabled"},
             "system":[{"type":"text","text":"You review code."},{"type":"text","text":"Answer in one line.","cache_control":{"type":"ephemeral"}}],
             "messages":[
               {"role":"user","content":[{"type":"text","text":"Here is a function.","cache_control":{"type":"ephemeral"}}]},
               {"role":"assistant","content":[{"type":"text","text":"Send it."}]},
               {"role":"user","content":[{"type":"text","text":"int add(int a, int b) { return a - b; }"},{"type":"text","text":"What is wrong?"}]}]}
            """);
        Assert.Equal("message", root.GetProperty("type").GetString());
        Assert.StartsWith("sim-", root.GetProperty("model").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("content")[0].GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Message_MaxTokensReached_StopReasonMaxTokens()
    {
        var root = await CreateAsync("""{"model":"sim-fast","max_tokens":3,"messages":[{"role":"user","content":"write a long essay on caching"}]}""");
        Assert.Equal("max_tokens", root.GetProperty("stop_reason").GetString());
        Assert.Equal(3, root.GetProperty("usage").GetProperty("output_tokens").GetInt64());
    }

    [Fact]
    public async Task Message_BearerTokenAuthenticatesToo()
    {
        using var response = await fixture.Http.PostAsync(Messages, Json("""{"model":"sim-fast","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Message_Stream_AnthropicEventSequence()
    {
        using var client = AnthropicClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, Messages)
        {
            Content = Json("""{"model":"sim-pro","stream":true,"max_tokens":60,"messages":[{"role":"user","content":"document the retry policy"}]}"""),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        var events = await ReadEventsAsync(response);
        var names = events.Select(e => e.Name).ToList();
        Assert.Equal("message_start", names[0]);
        Assert.Equal("message_stop", names[^1]);
        Assert.Equal("message_delta", names[^2]);
        Assert.Equal("content_block_stop", names[^3]);
        Assert.All(events, e => Assert.Equal(e.Name, e.Data.GetProperty("type").GetString()));
        Assert.Equal(1, names.Count(n => n == "content_block_start"));
        var start = events.Single(e => e.Name == "content_block_start").Data;
        Assert.Equal(0, start.GetProperty("index").GetInt32());
        Assert.Equal("text", start.GetProperty("content_block").GetProperty("type").GetString());
        Assert.True(names.IndexOf("content_block_start") < names.IndexOf("content_block_delta"));

        var message = events[0].Data.GetProperty("message");
        Assert.StartsWith("msg_", message.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("sim-pro", message.GetProperty("model").GetString());
        Assert.Equal(0, message.GetProperty("content").GetArrayLength());

        var deltas = events.Where(e => e.Name == "content_block_delta").Select(e => e.Data).ToList();
        Assert.NotEmpty(deltas); // the simulated model at 2000 tokens/s may write its answer in one delta
        Assert.All(deltas, d => Assert.Equal("text_delta", d.GetProperty("delta").GetProperty("type").GetString()));
        var text = string.Concat(deltas.Select(d => d.GetProperty("delta").GetProperty("text").GetString()));
        Assert.True(text.Length > 20, text);

        var delta = events[^2].Data;
        Assert.Contains(delta.GetProperty("delta").GetProperty("stop_reason").GetString(), new[] { "end_turn", "max_tokens" });
        Assert.InRange(delta.GetProperty("usage").GetProperty("output_tokens").GetInt64(), 1, 60);
        Assert.True(delta.GetProperty("usage").GetProperty("input_tokens").GetInt64() > 0);
    }

    [Fact]
    public async Task Message_StreamFailsBeforeContent_HttpErrorNotSse()
    {
        using var client = AnthropicClient();
        using var response = await client.PostAsync(Messages, Json("""{"model":"offline-small","stream":true,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("overloaded_error", await ErrorTypeOf(response));
    }

    [Fact]
    public async Task Message_BadApiKey_401AuthenticationError()
    {
        using var client = AnthropicClient("mk_nope0000_0123456789abcdefghijklmnopqrstuvwxyzABCD");
        using var response = await client.PostAsync(Messages, Json("""{"model":"sim-fast","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("authentication_error", await ErrorTypeOf(response));
    }

    [Fact]
    public async Task Message_ClaudeCodeShape_SystemRoleMessageAndAdaptiveThinking_Answered()
    {
        // Claude Code 2.1's request shape: its environment as a system-role message after the user's,
        // adaptive thinking, context management and an effort setting, streamed.
        using var client = AnthropicClient();
        using var response = await client.PostAsync(Messages, Json("""
            {"model":"sim-fast","max_tokens":64,"stream":true,"system":[{"type":"text","text":"You are a coding agent."}],
             "thinking":{"type":"adaptive","display":"omitted"},"output_config":{"effort":"high"},
             "context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},
             "messages":[{"role":"user","content":[{"type":"text","text":"explain retries"}]},
                         {"role":"system","content":[{"type":"text","text":"cwd: /tmp/p","cache_control":{"type":"ephemeral"}}]}]}
            """));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Contains("event: message_start", text, StringComparison.Ordinal);
        Assert.Contains("event: message_stop", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"thinking\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Message_NoCredential_401AuthenticationError()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Host.Address };
        using var response = await anonymous.PostAsync(Messages, Json("""{"model":"sim-fast","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("authentication_error", await ErrorTypeOf(response));
    }

    [Theory]
    [InlineData("""{"model":"sim-fast","messages":[{"role":"user","content":"hi"}]}""", "max_tokens")]
    [InlineData("""{"model":"sim-fast","max_tokens":5,"top_k":40,"messages":[{"role":"user","content":"hi"}]}""", "top_k")]
    [InlineData("""{"model":"sim-fast","max_tokens":5,"thinking":{"type":"sometimes"},"messages":[{"role":"user","content":"hi"}]}""", "thinking.type")]
    [InlineData("""{"model":"sim-fast","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Sure,"}]}""", "prefill")]
    [InlineData("""{"model":"sim-fast","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}""", "must come from the user")]
    [InlineData("""{"model":"sim-fast","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"hi"}]}""", "server tool")]
    [InlineData("""{"model":"sim-fast","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","data":"x"}}]}]}""", "document")]
    [InlineData("""{"model":"sim-fast","max_tokens":5,"messages":[{""", "not valid JSON")]
    public async Task Message_InvalidRequest_400InvalidRequestErrorNamingIt(string body, string named)
    {
        using var client = AnthropicClient();
        using var response = await client.PostAsync(Messages, Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Contains(named, text, StringComparison.Ordinal);
        Assert.Equal("invalid_request_error", await ErrorTypeOf(response));
    }

    [Fact]
    public async Task Message_BodyOverLimit_413RequestTooLarge()
    {
        using var client = AnthropicClient();
        var prompt = new string('x', EdgeGatewayFixture.BodyLimit + 1024);
        using var response = await client.PostAsync(Messages, Json($$"""{"model":"sim-fast","max_tokens":5,"messages":[{"role":"user","content":"{{prompt}}"}]}"""));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", await ErrorTypeOf(response));
    }

    [Fact]
    public async Task Message_UnknownModel_404NotFoundError()
    {
        using var client = AnthropicClient();
        using var response = await client.PostAsync(Messages, Json("""{"model":"claude-nonexistent-9","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found_error", await ErrorTypeOf(response));
    }

    [Fact]
    public async Task CountTokens_EstimateGrowsWithSystemMessagesAndTools()
    {
        async Task<long> CountAsync(string body)
        {
            using var client = AnthropicClient();
            using var response = await client.PostAsync(Messages + "/count_tokens", Json(body));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            using var doc = JsonDocument.Parse(text);
            Assert.Single(doc.RootElement.EnumerateObject());
            return doc.RootElement.GetProperty("input_tokens").GetInt64();
        }

        var small = await CountAsync("""{"model":"sim-fast","messages":[{"role":"user","content":"hi"}]}""");
        var withSystem = await CountAsync("""{"model":"sim-fast","system":"You are a careful reviewer of distributed systems code.","messages":[{"role":"user","content":"hi"}]}""");
        var withTools = await CountAsync("""
            {"model":"sim-fast","system":"You are a careful reviewer of distributed systems code.","messages":[{"role":"user","content":"hi"}],
             "tools":[{"name":"read_file","description":"Reads a file from the workspace and returns its text.","input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}]}
            """);
        var withToolTurns = await CountAsync("""
            {"model":"sim-fast","messages":[{"role":"user","content":"hi"},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"read_file","input":{"path":"src/main.rs"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"fn main() { println!(\"hello\"); }"}]}]}
            """);
        Assert.InRange(small, 1, 20);
        Assert.True(withSystem > small + 5, $"{withSystem} vs {small}");
        Assert.True(withTools > withSystem + 10, $"{withTools} vs {withSystem}");
        Assert.True(withToolTurns > small + 10, $"{withToolTurns} vs {small}");
    }

    [Fact]
    public async Task CountTokens_InvalidBody_400InvalidRequestError()
    {
        using var client = AnthropicClient();
        using var response = await client.PostAsync(Messages + "/count_tokens", Json("""{"model":"sim-fast","messages":[]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", await ErrorTypeOf(response));
    }

    [Fact]
    public async Task Models_ListsAutoAndEnabledCatalogModels()
    {
        using var client = AnthropicClient();
        using var response = await client.GetAsync("/anthropic/v1/models");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var ids = doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("auto", ids);
        Assert.Contains("sim-fast", ids);
        Assert.DoesNotContain("offline-small", ids);
        Assert.All(doc.RootElement.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("type").GetString()));
        Assert.False(doc.RootElement.GetProperty("has_more").GetBoolean());
    }

    internal sealed record SseEvent(string Name, JsonElement Data);

    /// <summary>Reads a whole SSE body into (event name, data) pairs; every event must have both.</summary>
    internal static async Task<List<SseEvent>> ReadEventsAsync(HttpResponseMessage response)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<SseEvent>();
        string? name = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                Assert.Null(name);
                name = line["event: ".Length..];
                continue;
            }

            Assert.StartsWith("data: ", line, StringComparison.Ordinal);
            Assert.NotNull(name);
            using var doc = JsonDocument.Parse(line["data: ".Length..]);
            events.Add(new SseEvent(name, doc.RootElement.Clone()));
            name = null;
        }

        return events.Where(e => e.Name != "ping").ToList();
    }
}
