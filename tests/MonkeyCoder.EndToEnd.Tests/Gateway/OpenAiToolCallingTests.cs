using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MonkeyCoder.EndToEnd.Tests.Fakes;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>
/// A REST host whose catalog has two models on a fake OpenAI server: <see cref="ToolModel"/> (tools
/// and images) and <see cref="TextModel"/> (neither); nothing simulated, so every answer comes from the fake.
/// </summary>
public sealed class OpenAiToolFixture : IAsyncLifetime
{
    public const string ToolModel = "tool-model";
    public const string TextModel = "text-model";

    private string _catalogPath = "";

    public FakeOpenAiServer Upstream { get; private set; } = null!;

    public HostProcess Host { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartNewAsync("openai");
        _catalogPath = Path.Combine(Path.GetTempPath(), $"monkey-tools-catalog-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(_catalogPath, $$"""
            {
              "providers": [
                { "name": "openai", "displayName": "OpenAI (fake)", "protocol": "openai", "baseUrl": "{{Upstream.BaseUrl}}", "apiKeyVariable": "OPENAI_API_KEY" }
              ],
              "models": [
                { "id": "{{ToolModel}}", "provider": "openai", "contextWindow": 128000, "maxOutputTokens": 16384, "supportsTools": true, "supportsImages": true,
                  "inputPricePerMillion": 1, "outputPricePerMillion": 4, "capabilities": { "codeGeneration": 0.9, "reasoning": 0.9, "reliability": 0.99 } },
                { "id": "{{TextModel}}", "provider": "openai", "contextWindow": 128000, "maxOutputTokens": 16384, "supportsTools": false, "supportsImages": false,
                  "inputPricePerMillion": 1, "outputPricePerMillion": 4, "capabilities": { "codeGeneration": 0.5, "reasoning": 0.5, "reliability": 0.99 } }
              ]
            }
            """);
        Host = await HostProcess.StartGatewayAsync(new Dictionary<string, string>
        {
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
            ["MODEL_CATALOG_PATH"] = _catalogPath,
            ["SIMULATED_ENABLED"] = "false",
            ["OPENAI_API_KEY"] = Upstream.ApiKey,
            ["OPENAI_BASE_URL"] = Upstream.BaseUrl.ToString(),
        });
        Http = new HttpClient { BaseAddress = Host.Address, Timeout = TimeSpan.FromMinutes(2) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        await Upstream.DisposeAsync();
        File.Delete(_catalogPath);
    }
}

/// <summary>
/// Tool calling, images and sampling options through the OpenAI chat edge to an OpenAI provider and
/// back, in OpenAI's wire format both ways: the two-step tool conversation (call → result → answer),
/// unary and streamed with parallel calls; a stream cut inside a call's arguments; the options as the
/// upstream received them; a tools request to a model without tools.
/// </summary>
public sealed class OpenAiToolCallingTests(OpenAiToolFixture fixture) : IClassFixture<OpenAiToolFixture>
{
    private const string Tools = """
        [{"type":"function","function":{"name":"read_file","description":"Reads a file","parameters":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}},
         {"type":"function","function":{"name":"list_dir","parameters":{"type":"object","properties":{"dir":{"type":"string"}}}}}]
        """;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<(HttpStatusCode Status, JsonElement Root)> PostAsync(string body)
    {
        using var response = await fixture.Http.PostAsync("/openai/v1/chat/completions", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return (response.StatusCode, doc.RootElement.Clone());
    }

    /// <summary>The SSE chunks of a streamed call (without [DONE]) and whether [DONE] came.</summary>
    private async Task<(List<JsonElement> Chunks, bool Done)> StreamAsync(string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions") { Content = Json(body) };
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var chunks = new List<JsonElement>();
        var done = false;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            var data = line["data: ".Length..];
            if (data == "[DONE]")
            {
                done = true;
                continue;
            }

            using var doc = JsonDocument.Parse(data);
            chunks.Add(doc.RootElement.Clone());
        }

        return (chunks, done);
    }

    /// <summary>Assembles delta.tool_calls pieces by index as OpenAI's SDKs do: id/name from the first piece, arguments appended.</summary>
    private static SortedDictionary<int, (string Id, string Name, string Arguments)> Assemble(IEnumerable<JsonElement> chunks)
    {
        var calls = new SortedDictionary<int, (string Id, string Name, string Arguments)>();
        foreach (var chunk in chunks)
        {
            foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
            {
                if (!choice.GetProperty("delta").TryGetProperty("tool_calls", out var pieces))
                {
                    continue;
                }

                foreach (var piece in pieces.EnumerateArray())
                {
                    var index = piece.GetProperty("index").GetInt32();
                    var (id, name, arguments) = calls.GetValueOrDefault(index, ("", "", ""));
                    if (piece.TryGetProperty("id", out var pid))
                    {
                        Assert.Equal("", id);
                        id = pid.GetString()!;
                        Assert.Equal("function", piece.GetProperty("type").GetString());
                    }

                    var function = piece.GetProperty("function");
                    if (function.TryGetProperty("name", out var pname))
                    {
                        name = pname.GetString()!;
                    }

                    if (function.TryGetProperty("arguments", out var parguments))
                    {
                        arguments += parguments.GetString();
                    }

                    calls[index] = (id, name, arguments);
                }
            }
        }

        return calls;
    }

    private static string FinishOf(List<JsonElement> chunks) => chunks
        .SelectMany(c => c.GetProperty("choices").EnumerateArray())
        .Select(c => c.GetProperty("finish_reason"))
        .Where(f => f.ValueKind == JsonValueKind.String)
        .Select(f => f.GetString()!)
        .Single();

    [Fact]
    public async Task TwoStepToolConversation_Unary_CallThenResultThenAnswer()
    {
        fixture.Upstream.Enqueue(FakeResponse.CallingTools(new FakeToolCall("read_file", """{"path":"notes.txt"}""", "call_read1")) with { CachedInputTokens = 5 });
        var (status, first) = await PostAsync($$$"""
            {"model":"{{{OpenAiToolFixture.ToolModel}}}","tools":{{{Tools}}},"tool_choice":"auto",
             "messages":[{"role":"system","content":"You are a coding agent."},{"role":"user","content":"What does notes.txt say?"}]}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        var choice = first.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("call_read1", call.GetProperty("id").GetString());
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("read_file", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"path":"notes.txt"}""", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal(5, first.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt64());

        var upstreamFirst = fixture.Upstream.Requests[^1].Json;
        Assert.Equal(2, upstreamFirst.GetProperty("tools").GetArrayLength());
        Assert.Equal("read_file", upstreamFirst.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("string", upstreamFirst.GetProperty("tools")[0].GetProperty("function").GetProperty("parameters").GetProperty("properties").GetProperty("path").GetProperty("type").GetString());
        Assert.Equal("auto", upstreamFirst.GetProperty("tool_choice").GetString());

        fixture.Upstream.Enqueue(FakeResponse.Success("notes.txt says: buy milk."));
        (status, var second) = await PostAsync($$$"""
            {"model":"{{{OpenAiToolFixture.ToolModel}}}","tools":{{{Tools}}},
             "messages":[{"role":"system","content":"You are a coding agent."},{"role":"user","content":"What does notes.txt say?"},
               {"role":"assistant","content":null,"tool_calls":[{"id":"call_read1","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"notes.txt\"}"}}]},
               {"role":"tool","tool_call_id":"call_read1","content":"buy milk"}]}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("stop", second.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("notes.txt says: buy milk.", second.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());

        // The upstream got the whole conversation, ending with the tool result (no user prompt appended).
        var messages = fixture.Upstream.Requests[^1].Json.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal("tool", messages[^1].GetProperty("role").GetString());
        Assert.Equal("call_read1", messages[^1].GetProperty("tool_call_id").GetString());
        Assert.Equal("buy milk", messages[^1].GetProperty("content").GetString());
        var assistant = messages[^2];
        Assert.Equal("assistant", assistant.GetProperty("role").GetString());
        Assert.Equal("call_read1", assistant.GetProperty("tool_calls")[0].GetProperty("id").GetString());
        Assert.Equal("""{"path":"notes.txt"}""", assistant.GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("What does notes.txt say?", messages[^3].GetProperty("content").GetString());
    }

    [Fact]
    public async Task TwoStepToolConversation_Streamed_ParallelCallDeltasThenAnswer()
    {
        fixture.Upstream.Enqueue(FakeResponse.CallingTools(
            new FakeToolCall("read_file", """{"path":"src/main.py","encoding":"utf-8"}""", "call_a"),
            new FakeToolCall("list_dir", """{"dir":"tests"}""", "call_b")));
        var (chunks, done) = await StreamAsync($$$"""
            {"model":"{{{OpenAiToolFixture.ToolModel}}}","stream":true,"stream_options":{"include_usage":true},"tools":{{{Tools}}},
             "messages":[{"role":"user","content":"Look at main.py and the tests."}]}
            """);
        Assert.True(done);
        Assert.Equal("tool_calls", FinishOf(chunks));
        var calls = Assemble(chunks);
        Assert.Equal(2, calls.Count);
        Assert.Equal(("call_a", "read_file", """{"path":"src/main.py","encoding":"utf-8"}"""), calls[0]);
        Assert.Equal(("call_b", "list_dir", """{"dir":"tests"}"""), calls[1]);
        // Arguments came in several pieces, not one.
        Assert.True(chunks.Count(c => c.GetProperty("choices").EnumerateArray().Any(ch => ch.GetProperty("delta").TryGetProperty("tool_calls", out _))) > 2);

        fixture.Upstream.Enqueue(FakeResponse.Success("main.py prints hello; tests has one file."));
        (chunks, done) = await StreamAsync($$$"""
            {"model":"{{{OpenAiToolFixture.ToolModel}}}","stream":true,"tools":{{{Tools}}},
             "messages":[{"role":"user","content":"Look at main.py and the tests."},
               {"role":"assistant","tool_calls":[{"id":"call_a","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"src/main.py\"}"}},
                                                  {"id":"call_b","type":"function","function":{"name":"list_dir","arguments":"{\"dir\":\"tests\"}"}}]},
               {"role":"tool","tool_call_id":"call_a","content":"print('hello')"},
               {"role":"tool","tool_call_id":"call_b","content":"test_main.py"}]}
            """);
        Assert.True(done);
        Assert.Equal("stop", FinishOf(chunks));
        var text = string.Concat(chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray())
            .Select(c => c.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.Equal("main.py prints hello; tests has one file.", text);
        var sent = fixture.Upstream.Requests[^1].Json.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["call_a", "call_b"], sent.Where(m => m.GetProperty("role").GetString() == "tool").Select(m => m.GetProperty("tool_call_id").GetString()));
    }

    [Fact]
    public async Task StreamCutInsideToolArguments_FailsCleanly_NeverAHalfCall()
    {
        var before = fixture.Upstream.RequestCount;
        // Content frames are the call's first piece, then argument pieces: the cut falls inside the arguments.
        fixture.Upstream.Enqueue(FakeResponse.CallingTools(new FakeToolCall("read_file", """{"path":"a/very/long/path/to/some/file.txt"}""", "call_cut"))
            with { Behavior = FakeBehavior.CutMidStream, AfterDeltas = 2 });
        var (chunks, done) = await StreamAsync($$$"""
            {"model":"{{{OpenAiToolFixture.ToolModel}}}","stream":true,"tools":{{{Tools}}},"messages":[{"role":"user","content":"Read the file."}]}
            """);
        Assert.False(done);
        // Pieces of the call may have reached the caller, but no finish: the last event is an error.
        Assert.DoesNotContain(chunks, c => c.TryGetProperty("choices", out var choices)
            && choices.EnumerateArray().Any(ch => ch.GetProperty("finish_reason").ValueKind == JsonValueKind.String));
        Assert.True(chunks[^1].TryGetProperty("error", out var error), chunks[^1].ToString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        // Not continued: one upstream request only.
        await Task.Delay(200);
        Assert.Equal(before + 1, fixture.Upstream.RequestCount);
    }

    [Fact]
    public async Task Options_ReachTheUpstreamBody()
    {
        fixture.Upstream.Enqueue(FakeResponse.Success("""{"answer":42}"""));
        var (status, root) = await PostAsync($$$"""
            {"model":"{{{OpenAiToolFixture.ToolModel}}}","tools":{{{Tools}}},"tool_choice":{"type":"function","function":{"name":"list_dir"}},"parallel_tool_calls":false,
             "stop":["END","STOP"],"seed":7,"top_p":0.5,"presence_penalty":0.25,"frequency_penalty":-0.5,"user":"user-123",
             "response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,"schema":{"type":"object","properties":{"answer":{"type":"integer"} } } } },
             "messages":[{"role":"user","content":[{"type":"text","text":"What is in this picture?"},
               {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==","detail":"low"}},
               {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"answer":42}""", root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        var body = fixture.Upstream.Requests[^1].Json;
        Assert.Equal(["END", "STOP"], body.GetProperty("stop").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(7, body.GetProperty("seed").GetInt64());
        Assert.Equal(0.5, body.GetProperty("top_p").GetDouble());
        Assert.Equal(0.25, body.GetProperty("presence_penalty").GetDouble());
        Assert.Equal(-0.5, body.GetProperty("frequency_penalty").GetDouble());
        Assert.Equal("user-123", body.GetProperty("user").GetString());
        Assert.False(body.GetProperty("parallel_tool_calls").GetBoolean());
        Assert.Equal("list_dir", body.GetProperty("tool_choice").GetProperty("function").GetProperty("name").GetString());
        var format = body.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("answer", format.GetProperty("json_schema").GetProperty("name").GetString());
        Assert.True(format.GetProperty("json_schema").GetProperty("strict").GetBoolean());
        Assert.Equal("integer", format.GetProperty("json_schema").GetProperty("schema").GetProperty("properties").GetProperty("answer").GetProperty("type").GetString());
        var parts = body.GetProperty("messages").EnumerateArray().Last().GetProperty("content").EnumerateArray().ToList();
        Assert.Equal("What is in this picture?", parts[0].GetProperty("text").GetString());
        Assert.StartsWith("data:image/png;base64,iVBOR", parts[1].GetProperty("image_url").GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.Equal("low", parts[1].GetProperty("image_url").GetProperty("detail").GetString());
        Assert.Equal("https://example.com/cat.png", parts[2].GetProperty("image_url").GetProperty("url").GetString());
    }

    [Fact]
    public async Task ToolsToModelWithoutTools_Clear400()
    {
        var before = fixture.Upstream.RequestCount;
        var (status, root) = await PostAsync($$$"""
            {"model":"{{{OpenAiToolFixture.TextModel}}}","tools":{{{Tools}}},"messages":[{"role":"user","content":"hi"}]}
            """);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = root.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("model_lacks_feature", error.GetProperty("code").GetString());
        Assert.Contains("tools", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(OpenAiToolFixture.TextModel, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, fixture.Upstream.RequestCount);
    }

    [Fact]
    public async Task InvalidImageAndStop_Clear400NamingTheParam()
    {
        var (status, root) = await PostAsync($$$"""
            {"model":"{{{OpenAiToolFixture.ToolModel}}}","stop":["a","b","c","d","e"],
             "messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@not-base64@@@"}}]}]}
            """);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var message = root.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("stop", message, StringComparison.Ordinal);
        Assert.Contains("base64", message, StringComparison.Ordinal);
    }
}
