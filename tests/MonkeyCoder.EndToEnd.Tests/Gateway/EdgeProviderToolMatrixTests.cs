using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MonkeyCoder.EndToEnd.Tests.Fakes;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Gateway;

/// <summary>
/// A REST host with one tool-capable model on each of three fake providers (OpenAI, Anthropic and
/// Gemini wire formats) and nothing simulated, so every answer is a provider's, translated.
/// </summary>
public sealed class ToolMatrixFixture : IAsyncLifetime
{
    private string _catalogPath = "";

    public FakeOpenAiServer OpenAi { get; private set; } = null!;

    public FakeAnthropicServer Anthropic { get; private set; } = null!;

    public FakeGeminiServer Gemini { get; private set; } = null!;

    public HostProcess Host { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public FakeProviderServer Upstream(string provider) => provider switch
    {
        "openai" => OpenAi,
        "anthropic" => Anthropic,
        _ => Gemini,
    };

    public async Task InitializeAsync()
    {
        OpenAi = await FakeOpenAiServer.StartNewAsync("openai");
        Anthropic = await FakeAnthropicServer.StartNewAsync();
        Gemini = await FakeGeminiServer.StartNewAsync();
        _catalogPath = Path.Combine(Path.GetTempPath(), $"monkey-tool-matrix-{Guid.NewGuid():N}.json");
        static string Model(string id, string provider) => $$"""
            { "id": "{{id}}", "provider": "{{provider}}", "contextWindow": 128000, "maxOutputTokens": 8192, "supportsTools": true,
              "inputPricePerMillion": 1, "outputPricePerMillion": 4, "capabilities": { "codeGeneration": 0.9, "reasoning": 0.9, "reliability": 0.99 } }
            """;
        await File.WriteAllTextAsync(_catalogPath, $$"""
            {
              "providers": [
                { "name": "openai", "protocol": "openai", "baseUrl": "{{OpenAi.BaseUrl}}", "apiKeyVariable": "OPENAI_API_KEY" },
                { "name": "anthropic", "protocol": "anthropic", "baseUrl": "{{Anthropic.BaseUrl}}", "apiKeyVariable": "ANTHROPIC_API_KEY" },
                { "name": "google", "protocol": "gemini", "baseUrl": "{{Gemini.BaseUrl}}", "apiKeyVariable": "GOOGLE_API_KEY" }
              ],
              "models": [ {{Model("oa-tools", "openai")}}, {{Model("an-tools", "anthropic")}}, {{Model("gm-tools", "google")}} ]
            }
            """);
        Host = await HostProcess.StartGatewayAsync(new Dictionary<string, string>
        {
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
            ["MODEL_CATALOG_PATH"] = _catalogPath,
            ["SIMULATED_ENABLED"] = "false",
            ["OPENAI_API_KEY"] = OpenAi.ApiKey,
            ["OPENAI_BASE_URL"] = OpenAi.BaseUrl.ToString(),
            ["ANTHROPIC_API_KEY"] = Anthropic.ApiKey,
            ["ANTHROPIC_BASE_URL"] = Anthropic.BaseUrl.ToString(),
            ["GOOGLE_API_KEY"] = Gemini.ApiKey,
            ["GOOGLE_BASE_URL"] = Gemini.BaseUrl.ToString(),
        });
        Http = new HttpClient { BaseAddress = Host.Address, Timeout = TimeSpan.FromMinutes(2) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        await OpenAi.DisposeAsync();
        await Anthropic.DisposeAsync();
        await Gemini.DisposeAsync();
        File.Delete(_catalogPath);
    }
}

/// <summary>
/// Every edge (OpenAI chat completions, Anthropic Messages, OpenAI Responses, the gRPC contract) × every provider protocol round-trips the two-step tool conversation: the model calls
/// <c>read_file</c> (the provider's wire format, translated to the edge's), the caller sends the result
/// back in the edge's format, the provider receives it in its own (OpenAI <c>role: tool</c>, Anthropic
/// <c>tool_result</c>, Gemini <c>functionResponse</c>) and answers with text.
/// </summary>
public sealed class EdgeProviderToolMatrixTests(ToolMatrixFixture fixture) : IClassFixture<ToolMatrixFixture>
{
    private const string Question = "What does notes.txt say?";

    public static TheoryData<string, string> Pairs() => PairsOf("chat", "anthropic", "responses");

    /// <summary>The HTTP edges and the gRPC contract (its JSON transcoding on the REST host: the same RouterService.Execute).</summary>
    public static TheoryData<string, string> AllPairs() => PairsOf("chat", "anthropic", "responses", "grpc");

    private static TheoryData<string, string> PairsOf(params string[] edges)
    {
        var data = new TheoryData<string, string>();
        foreach (var edge in edges)
        {
            foreach (var provider in new[] { "openai", "anthropic", "google" })
            {
                data.Add(edge, provider);
            }
        }

        return data;
    }

    private static string ModelOf(string provider) => provider switch
    {
        "openai" => "oa-tools",
        "anthropic" => "an-tools",
        _ => "gm-tools",
    };

    [Theory]
    [MemberData(nameof(AllPairs))]
    public async Task TwoStepToolConversation_EveryEdgeEveryProvider(string edge, string provider)
    {
        var upstream = fixture.Upstream(provider);
        var model = ModelOf(provider);

        // Step 1: the model calls the tool.
        upstream.Enqueue(FakeResponse.CallingTools(new FakeToolCall("read_file", """{"path":"notes.txt"}""", provider == "google" ? null : "call_m1")));
        var first = await PostAsync(edge, FirstRequest(edge, model));
        var (callId, name, arguments) = ToolCallOf(edge, first);
        Assert.Equal("read_file", name);
        Assert.Equal("notes.txt", JsonDocument.Parse(arguments).RootElement.GetProperty("path").GetString());
        Assert.False(string.IsNullOrEmpty(callId));
        var sentTools = upstream.Requests[^1].Json.GetRawText();
        Assert.Contains("read_file", sentTools);

        // Step 2: the caller sends the result back; the provider gets it in its own format and answers.
        upstream.Enqueue(FakeResponse.Success("notes.txt says: buy milk."));
        var second = await PostAsync(edge, SecondRequest(edge, model, callId));
        Assert.Equal("notes.txt says: buy milk.", TextOf(edge, second));

        var received = upstream.Requests[^1].Json;
        var raw = received.GetRawText();
        Assert.Contains("buy milk", raw);
        switch (provider)
        {
            case "openai":
                var messages = received.GetProperty("messages").EnumerateArray().ToList();
                Assert.Equal("tool", messages[^1].GetProperty("role").GetString());
                Assert.Equal(callId, messages[^1].GetProperty("tool_call_id").GetString());
                Assert.Equal(callId, messages[^2].GetProperty("tool_calls")[0].GetProperty("id").GetString());
                break;
            case "anthropic":
                var turns = received.GetProperty("messages").EnumerateArray().ToList();
                var result = turns[^1].GetProperty("content").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "tool_result");
                Assert.Equal(callId, result.GetProperty("tool_use_id").GetString());
                var use = turns[^2].GetProperty("content").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "tool_use");
                Assert.Equal(callId, use.GetProperty("id").GetString());
                Assert.Equal("notes.txt", use.GetProperty("input").GetProperty("path").GetString());
                break;
            default:
                Assert.Contains("\"functionResponse\"", raw);
                Assert.Contains("\"functionCall\"", raw);
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task StreamedToolCall_EveryEdgeEveryProvider_ArgumentsAssembleFromDeltas(string edge, string provider)
    {
        var upstream = fixture.Upstream(provider);
        upstream.Enqueue(FakeResponse.CallingTools(new FakeToolCall("read_file", """{"path":"notes.txt"}""", provider == "google" ? null : "call_s1")));
        var body = "{\"stream\":true," + FirstRequest(edge, ModelOf(provider))[1..];
        var path = edge switch
        {
            "chat" => "/openai/v1/chat/completions",
            "anthropic" => "/anthropic/v1/messages",
            _ => "/openai/v1/responses",
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var sse = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{edge}: {(int)response.StatusCode} {sse}");

        // The arguments as the edge's own clients assemble them from the deltas.
        var arguments = new StringBuilder();
        var name = "";
        foreach (var line in sse.Split('\n'))
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]")
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line["data: ".Length..]);
            var e = doc.RootElement;
            switch (edge)
            {
                case "chat":
                    if (e.GetProperty("choices").GetArrayLength() > 0 && e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("tool_calls", out var pieces))
                    {
                        var function = pieces[0].GetProperty("function");
                        name = function.TryGetProperty("name", out var n) ? n.GetString()! : name;
                        arguments.Append(function.TryGetProperty("arguments", out var a) ? a.GetString() : "");
                    }

                    break;
                case "anthropic":
                    if (e.GetProperty("type").GetString() == "content_block_start" && e.GetProperty("content_block").GetProperty("type").GetString() == "tool_use")
                    {
                        name = e.GetProperty("content_block").GetProperty("name").GetString()!;
                    }
                    else if (e.GetProperty("type").GetString() == "content_block_delta" && e.GetProperty("delta").GetProperty("type").GetString() == "input_json_delta")
                    {
                        arguments.Append(e.GetProperty("delta").GetProperty("partial_json").GetString());
                    }

                    break;
                default:
                    if (e.GetProperty("type").GetString() == "response.output_item.added" && e.GetProperty("item").GetProperty("type").GetString() == "function_call")
                    {
                        name = e.GetProperty("item").GetProperty("name").GetString()!;
                    }
                    else if (e.GetProperty("type").GetString() == "response.function_call_arguments.delta")
                    {
                        arguments.Append(e.GetProperty("delta").GetString());
                    }

                    break;
            }
        }

        Assert.Equal("read_file", name);
        Assert.Equal("notes.txt", JsonDocument.Parse(arguments.ToString()).RootElement.GetProperty("path").GetString());
        Assert.Contains(edge switch { "chat" => "\"finish_reason\":\"tool_calls\"", "anthropic" => "\"stop_reason\":\"tool_use\"", _ => "response.completed" }, sse);
    }

    private static string Tool(string edge) => edge switch
    {
        "chat" => """{"type":"function","function":{"name":"read_file","description":"Reads a file","parameters":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}}""",
        "anthropic" => """{"name":"read_file","description":"Reads a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}""",
        "grpc" => """{"name":"read_file","description":"Reads a file","parametersJsonSchema":"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},\"required\":[\"path\"]}"}""",
        _ => """{"type":"function","name":"read_file","description":"Reads a file","parameters":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}""",
    };

    private static string FirstRequest(string edge, string model) => edge switch
    {
        "chat" => $$"""{"model":"{{model}}","tools":[{{Tool(edge)}}],"messages":[{"role":"user","content":"{{Question}}"}]}""",
        "anthropic" => $$"""{"model":"{{model}}","max_tokens":512,"tools":[{{Tool(edge)}}],"messages":[{"role":"user","content":"{{Question}}"}]}""",
        "grpc" => $$"""{"taskType":"TASK_TYPE_CHAT","model":"{{model}}","maxTokens":512,"tools":[{{Tool(edge)}}],"messages":[{"role":"MESSAGE_ROLE_USER","text":"{{Question}}"}]}""",
        _ => $$"""{"model":"{{model}}","tools":[{{Tool(edge)}}],"input":"{{Question}}"}""",
    };

    private static string SecondRequest(string edge, string model, string callId) => edge switch
    {
        "chat" => $$$"""
            {"model":"{{{model}}}","tools":[{{{Tool(edge)}}}],"messages":[{"role":"user","content":"{{{Question}}}"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"{{{callId}}}","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"notes.txt\"}"}}]},
              {"role":"tool","tool_call_id":"{{{callId}}}","content":"buy milk"}]}
            """,
        "anthropic" => $$$"""
            {"model":"{{{model}}}","max_tokens":512,"tools":[{{{Tool(edge)}}}],"messages":[{"role":"user","content":"{{{Question}}}"},
              {"role":"assistant","content":[{"type":"tool_use","id":"{{{callId}}}","name":"read_file","input":{"path":"notes.txt"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"{{{callId}}}","content":"buy milk"}]}]}
            """,
        "grpc" => $$$"""
            {"taskType":"TASK_TYPE_CHAT","model":"{{{model}}}","maxTokens":512,"tools":[{{{Tool(edge)}}}],"messages":[{"role":"MESSAGE_ROLE_USER","text":"{{{Question}}}"},
              {"role":"MESSAGE_ROLE_ASSISTANT","toolCalls":[{"id":"{{{callId}}}","name":"read_file","argumentsJson":"{\"path\":\"notes.txt\"}"}]},
              {"role":"MESSAGE_ROLE_TOOL","toolCallId":"{{{callId}}}","toolName":"read_file","text":"buy milk"}]}
            """,
        _ => $$$"""
            {"model":"{{{model}}}","tools":[{{{Tool(edge)}}}],"input":[{"role":"user","content":"{{{Question}}}"},
              {"type":"function_call","call_id":"{{{callId}}}","name":"read_file","arguments":"{\"path\":\"notes.txt\"}"},
              {"type":"function_call_output","call_id":"{{{callId}}}","output":"buy milk"}]}
            """,
    };

    private async Task<JsonElement> PostAsync(string edge, string body)
    {
        var path = edge switch
        {
            "chat" => "/openai/v1/chat/completions",
            "anthropic" => "/anthropic/v1/messages",
            "grpc" => "/v1/execute",
            _ => "/openai/v1/responses",
        };
        using var response = await fixture.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{edge}: {(int)response.StatusCode} {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private static (string Id, string Name, string Arguments) ToolCallOf(string edge, JsonElement root)
    {
        switch (edge)
        {
            case "chat":
                var choice = root.GetProperty("choices")[0];
                Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
                var call = Assert.Single(choice.GetProperty("message").GetProperty("tool_calls").EnumerateArray());
                return (call.GetProperty("id").GetString()!, call.GetProperty("function").GetProperty("name").GetString()!,
                    call.GetProperty("function").GetProperty("arguments").GetString()!);
            case "anthropic":
                Assert.Equal("tool_use", root.GetProperty("stop_reason").GetString());
                var use = Assert.Single(root.GetProperty("content").EnumerateArray(), b => b.GetProperty("type").GetString() == "tool_use");
                return (use.GetProperty("id").GetString()!, use.GetProperty("name").GetString()!, use.GetProperty("input").GetRawText());
            case "grpc":
                Assert.Equal("FINISH_REASON_TOOL_CALLS", root.GetProperty("finishReason").GetString());
                var toolCall = Assert.Single(root.GetProperty("toolCalls").EnumerateArray());
                return (toolCall.GetProperty("id").GetString()!, toolCall.GetProperty("name").GetString()!, toolCall.GetProperty("argumentsJson").GetString()!);
            default:
                var item = Assert.Single(root.GetProperty("output").EnumerateArray(), o => o.GetProperty("type").GetString() == "function_call");
                return (item.GetProperty("call_id").GetString()!, item.GetProperty("name").GetString()!, item.GetProperty("arguments").GetString()!);
        }
    }

    private static string TextOf(string edge, JsonElement root) => edge switch
    {
        "chat" => root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!,
        "anthropic" => string.Concat(root.GetProperty("content").EnumerateArray()
            .Where(b => b.GetProperty("type").GetString() == "text").Select(b => b.GetProperty("text").GetString())),
        "grpc" => root.GetProperty("content").GetString()!,
        _ => string.Concat(root.GetProperty("output").EnumerateArray()
            .Where(o => o.GetProperty("type").GetString() == "message")
            .SelectMany(o => o.GetProperty("content").EnumerateArray())
            .Where(c => c.GetProperty("type").GetString() == "output_text")
            .Select(c => c.GetProperty("text").GetString())),
    };
}
