using System.Text.Json;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.EndToEnd.Tests.Fakes;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Providers;

/// <summary>
/// The Anthropic and Gemini clients against their fakes for what coding agents send: tools and tool calls
/// (unary and streamed, parallel), tool results fed back, images, sampling options, prompt-cache breakpoints
/// and cached-token usage. Each test reads the body the fake received, so the translation itself is checked.
/// </summary>
public sealed class ToolCallingProviderTests
{
    private const string ReadFileSchema = """{"type":"object","properties":{"path":{"type":"string","description":"Relative path"}},"required":["path"],"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"}""";
    private const string ListDirSchema = """{"type":"object","properties":{"dir":{"type":["string","null"]},"depth":{"type":"integer","format":"int32"}},"required":["dir"]}""";

    public static TheoryData<string, bool> ProtocolsAndModes => new()
    {
        { "anthropic", false }, { "anthropic", true }, { "gemini", false }, { "gemini", true },
    };

    private static readonly FakeToolCall ReadCall = new("read_file", """{"path":"src/app.py"}""");
    private static readonly FakeToolCall ListCall = new("list_dir", """{"dir":"src","depth":2}""");

    private static ProviderRequest ToolRequest(ProviderHarness harness, IReadOnlyList<ChatMessage>? messages = null) => harness.Request() with
    {
        Messages = messages ??
        [
            new ChatMessage(ChatRole.System, "You are a coding agent."),
            new ChatMessage(ChatRole.User, "What does src/app.py do?"),
        ],
        Tools =
        [
            new ToolDefinition("read_file", "Reads a file of the workspace.", ReadFileSchema),
            new ToolDefinition("list_dir", null, ListDirSchema),
        ],
    };

    /// <summary>Runs a call unary or streamed; a stream's tool-call deltas are assembled as a caller would.</summary>
    private static async Task<(string Text, FinishReason Finish, TokenUsage Usage, List<ToolCall> Calls, List<ToolCallDelta> Deltas)> CallAsync(
        ProviderHarness harness, ProviderRequest request, bool stream)
    {
        if (!stream)
        {
            var response = await harness.Client.CompleteAsync(request, CancellationToken.None);
            return (response.Content, response.FinishReason, response.Usage, response.ToolCalls.ToList(), []);
        }

        var text = "";
        var deltas = new List<ToolCallDelta>();
        ProviderStreamEvent? final = null;
        await foreach (var item in harness.Client.StreamAsync(request, CancellationToken.None))
        {
            Assert.Null(final);
            if (item.IsFinal)
            {
                final = item;
            }
            else if (item.ToolCall is { } delta)
            {
                deltas.Add(delta);
            }
            else
            {
                text += item.Delta;
            }
        }

        Assert.NotNull(final);
        var calls = new List<ToolCall>();
        foreach (var group in deltas.GroupBy(d => d.Index).OrderBy(g => g.Key))
        {
            var first = group.First();
            Assert.False(string.IsNullOrEmpty(first.Id), "the first delta of a call carries its id");
            Assert.False(string.IsNullOrEmpty(first.Name), "the first delta of a call carries its name");
            Assert.All(group.Skip(1), d => Assert.Null(d.Id));
            calls.Add(new ToolCall(first.Id!, first.Name!, string.Concat(group.Select(d => d.ArgumentsDelta))));
        }

        Assert.Equal(Enumerable.Range(0, calls.Count), deltas.Select(d => d.Index).Distinct().Order());
        return (text, final.Value.FinishReason, final.Value.Usage!.Value, calls, deltas);
    }

    private static void AssertJsonEqual(string expected, string actual) =>
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(expected).RootElement, JsonDocument.Parse(actual).RootElement), $"expected {expected}, got {actual}");

    [Theory]
    [MemberData(nameof(ProtocolsAndModes))]
    public async Task TwoStepToolConversation_CallsParsedThenResultsSentInTheProvidersBlocks(string protocol, bool stream)
    {
        await using var harness = await ProviderHarness.StartAsync(protocol);
        harness.Fake.Enqueue(FakeResponse.CallingTools(ReadCall, ListCall) with { Content = "Let me look.", InputTokens = 120, OutputTokens = 30 });

        // Step 1: the model calls two tools in parallel.
        var first = await CallAsync(harness, ToolRequest(harness), stream);

        Assert.Equal(FinishReason.ToolCalls, first.Finish);
        Assert.Equal("Let me look.", first.Text);
        Assert.Equal(new TokenUsage(120, 30), first.Usage);
        Assert.Equal(["read_file", "list_dir"], first.Calls.Select(c => c.Name));
        AssertJsonEqual(ReadCall.ArgumentsJson, first.Calls[0].ArgumentsJson);
        AssertJsonEqual(ListCall.ArgumentsJson, first.Calls[1].ArgumentsJson);
        Assert.Equal(2, first.Calls.Select(c => c.Id).Distinct().Count());
        if (stream && protocol == "anthropic")
        {
            // input_json_delta arrives in pieces: several deltas per call, not one.
            Assert.True(first.Deltas.Count(d => d.Index == 0) >= 3, $"got {first.Deltas.Count(d => d.Index == 0)} deltas for call 0");
        }

        var sent = harness.Fake.Requests[0].Json;
        AssertToolsSent(protocol, sent);

        // Step 2: the calls and their results go back; the model answers in text.
        harness.Fake.Enqueue(FakeResponse.Success("app.py starts the web server.", inputTokens: 200, outputTokens: 12));
        var history = new List<ChatMessage>
        {
            new(ChatRole.System, "You are a coding agent."),
            new(ChatRole.User, "What does src/app.py do?"),
            new(ChatRole.Assistant, first.Text) { ToolCalls = first.Calls },
            new(ChatRole.Tool, "import server\nserver.run()") { ToolCallId = first.Calls[0].Id },
            new(ChatRole.Tool, "no such directory") { ToolCallId = first.Calls[1].Id, ToolName = "list_dir", ToolError = true },
        };

        var second = await CallAsync(harness, ToolRequest(harness, history), stream);

        Assert.Equal("app.py starts the web server.", second.Text);
        Assert.Equal(FinishReason.Stop, second.Finish);
        Assert.Empty(second.Calls);
        var body = harness.Fake.Requests[1].Json;
        if (protocol == "anthropic")
        {
            var messages = body.GetProperty("messages");
            Assert.Equal(3, messages.GetArrayLength());
            var assistant = messages[1];
            Assert.Equal("assistant", assistant.GetProperty("role").GetString());
            var blocks = assistant.GetProperty("content");
            Assert.Equal(["text", "tool_use", "tool_use"], blocks.EnumerateArray().Select(b => b.GetProperty("type").GetString()));
            Assert.Equal(first.Calls[0].Id, blocks[1].GetProperty("id").GetString());
            Assert.Equal("read_file", blocks[1].GetProperty("name").GetString());
            AssertJsonEqual(ReadCall.ArgumentsJson, blocks[1].GetProperty("input").GetRawText());

            // Both results in one user turn, in order, the failed one flagged.
            var results = messages[2];
            Assert.Equal("user", results.GetProperty("role").GetString());
            var resultBlocks = results.GetProperty("content");
            Assert.Equal(2, resultBlocks.GetArrayLength());
            Assert.All(resultBlocks.EnumerateArray(), b => Assert.Equal("tool_result", b.GetProperty("type").GetString()));
            Assert.Equal(first.Calls[0].Id, resultBlocks[0].GetProperty("tool_use_id").GetString());
            Assert.Equal("import server\nserver.run()", resultBlocks[0].GetProperty("content").GetString());
            Assert.False(resultBlocks[0].TryGetProperty("is_error", out _));
            Assert.Equal(first.Calls[1].Id, resultBlocks[1].GetProperty("tool_use_id").GetString());
            Assert.True(resultBlocks[1].GetProperty("is_error").GetBoolean());
        }
        else
        {
            var contents = body.GetProperty("contents");
            Assert.Equal(3, contents.GetArrayLength());
            var model = contents[1];
            Assert.Equal("model", model.GetProperty("role").GetString());
            var parts = model.GetProperty("parts");
            Assert.Equal("Let me look.", parts[0].GetProperty("text").GetString());
            Assert.Equal("read_file", parts[1].GetProperty("functionCall").GetProperty("name").GetString());
            AssertJsonEqual(ReadCall.ArgumentsJson, parts[1].GetProperty("functionCall").GetProperty("args").GetRawText());
            Assert.Equal("list_dir", parts[2].GetProperty("functionCall").GetProperty("name").GetString());

            var results = contents[2];
            Assert.Equal("user", results.GetProperty("role").GetString());
            var responses = results.GetProperty("parts");
            Assert.Equal(2, responses.GetArrayLength());

            // The first result named only its call id: the function name was looked up from the call.
            var read = responses[0].GetProperty("functionResponse");
            Assert.Equal("read_file", read.GetProperty("name").GetString());
            Assert.Equal("import server\nserver.run()", read.GetProperty("response").GetProperty("result").GetString());
            var list = responses[1].GetProperty("functionResponse");
            Assert.Equal("list_dir", list.GetProperty("name").GetString());
            Assert.Equal("no such directory", list.GetProperty("response").GetProperty("error").GetString());
        }
    }

    private static void AssertToolsSent(string protocol, JsonElement body)
    {
        if (protocol == "anthropic")
        {
            var tools = body.GetProperty("tools");
            Assert.Equal(2, tools.GetArrayLength());
            Assert.Equal("read_file", tools[0].GetProperty("name").GetString());
            Assert.Equal("Reads a file of the workspace.", tools[0].GetProperty("description").GetString());
            AssertJsonEqual(ReadFileSchema, tools[0].GetProperty("input_schema").GetRawText());
            Assert.False(tools[1].TryGetProperty("description", out _));
            Assert.False(body.TryGetProperty("tool_choice", out _), "auto is Anthropic's default and left out");
            return;
        }

        var declarations = body.GetProperty("tools")[0].GetProperty("functionDeclarations");
        Assert.Equal(2, declarations.GetArrayLength());
        Assert.Equal("read_file", declarations[0].GetProperty("name").GetString());
        var parameters = declarations[0].GetProperty("parameters");

        // Gemini's schema subset: keys it refuses are gone, the rest kept.
        Assert.False(parameters.TryGetProperty("additionalProperties", out _));
        Assert.False(parameters.TryGetProperty("$schema", out _));
        Assert.Equal("string", parameters.GetProperty("properties").GetProperty("path").GetProperty("type").GetString());
        Assert.Equal("path", parameters.GetProperty("required")[0].GetString());
        var dir = declarations[1].GetProperty("parameters").GetProperty("properties").GetProperty("dir");
        Assert.Equal("string", dir.GetProperty("type").GetString());
        Assert.True(dir.GetProperty("nullable").GetBoolean());
        Assert.False(body.TryGetProperty("toolConfig", out _));
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndModes))]
    public async Task ToolCallOnly_NoText_FinishToolCallsWithStableIds(string protocol, bool stream)
    {
        await using var harness = await ProviderHarness.StartAsync(protocol);
        harness.Fake.Enqueue(FakeResponse.CallingTools(ReadCall), FakeResponse.CallingTools(ReadCall));

        var first = await CallAsync(harness, ToolRequest(harness), stream);
        var again = await CallAsync(harness, ToolRequest(harness), stream);

        Assert.Equal(FinishReason.ToolCalls, first.Finish);
        Assert.Equal("", first.Text);
        var call = Assert.Single(first.Calls);
        Assert.Equal("read_file", call.Name);
        AssertJsonEqual(ReadCall.ArgumentsJson, call.ArgumentsJson);

        // The same answer gets the same id (Gemini sends none: ours is derived from the call).
        Assert.Equal(call.Id, Assert.Single(again.Calls).Id);
        if (protocol == "gemini")
        {
            Assert.StartsWith("call_0_", call.Id, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndModes))]
    public async Task Images_InlineAndUrl_MappedToTheProvidersParts(string protocol, bool stream)
    {
        await using var harness = await ProviderHarness.StartAsync(protocol);
        harness.Fake.Enqueue(FakeResponse.Success("A red square and a diagram."));
        const string png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
        var request = harness.Request() with
        {
            Messages =
            [
                new ChatMessage(ChatRole.User, "Describe these.")
                {
                    Images =
                    [
                        new ImagePart { MediaType = "image/png", Base64Data = png },
                        new ImagePart { Url = "https://example.com/diagrams/arch.jpeg?v=2" },
                    ],
                },
            ],
        };

        var answer = await CallAsync(harness, request, stream);

        Assert.Equal("A red square and a diagram.", answer.Text);
        var body = harness.Fake.Requests[0].Json;
        if (protocol == "anthropic")
        {
            var blocks = body.GetProperty("messages")[0].GetProperty("content");
            Assert.Equal("Describe these.", blocks[0].GetProperty("text").GetString());
            var inline = blocks[1];
            Assert.Equal("image", inline.GetProperty("type").GetString());
            Assert.Equal("base64", inline.GetProperty("source").GetProperty("type").GetString());
            Assert.Equal("image/png", inline.GetProperty("source").GetProperty("media_type").GetString());
            Assert.Equal(png, inline.GetProperty("source").GetProperty("data").GetString());
            var url = blocks[2].GetProperty("source");
            Assert.Equal("url", url.GetProperty("type").GetString());
            Assert.Equal("https://example.com/diagrams/arch.jpeg?v=2", url.GetProperty("url").GetString());
        }
        else
        {
            var parts = body.GetProperty("contents")[0].GetProperty("parts");
            Assert.Equal("Describe these.", parts[0].GetProperty("text").GetString());
            Assert.Equal("image/png", parts[1].GetProperty("inlineData").GetProperty("mimeType").GetString());
            Assert.Equal(png, parts[1].GetProperty("inlineData").GetProperty("data").GetString());
            Assert.Equal("https://example.com/diagrams/arch.jpeg?v=2", parts[2].GetProperty("fileData").GetProperty("fileUri").GetString());
            Assert.Equal("image/jpeg", parts[2].GetProperty("fileData").GetProperty("mimeType").GetString());
        }
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndModes))]
    public async Task CachedTokens_ReportedInOurConventionAndPricedAtCachePrices(string protocol, bool stream)
    {
        await using var harness = await ProviderHarness.StartAsync(protocol);
        var write = protocol == "anthropic" ? 1_500 : 0;
        harness.Fake.Enqueue(FakeResponse.Success("Done.", inputTokens: 10_000, outputTokens: 100) with { CachedInputTokens = 8_000, CacheWriteInputTokens = write });

        var answer = await CallAsync(harness, harness.Request(), stream);

        // InputTokens counts every input token, the cached and written ones included.
        Assert.Equal(new TokenUsage(10_000, 100, false, 8_000, write), answer.Usage);
        var model = harness.Model;
        Assert.NotNull(model.CachedInputPricePerMillion);
        Assert.True(model.CachedInputPricePerMillion < model.InputPricePerMillion);
        var expected = ((10_000 - 8_000 - write) * model.InputPricePerMillion + 8_000 * model.CachedInputPricePerMillion!.Value
            + write * (model.CacheWritePricePerMillion ?? model.InputPricePerMillion) + 100 * model.OutputPricePerMillion) / 1_000_000d;
        Assert.Equal(expected, model.CostOf(answer.Usage), 12);
        Assert.True(model.CostOf(answer.Usage) < model.CostOf(new TokenUsage(10_000, 100)), "cache reads make the call cheaper");
    }

    [Theory]
    [InlineData("anthropic", false)]
    [InlineData("anthropic", true)]
    [InlineData("gemini", true)]
    public async Task StreamCutInsideToolCall_StreamCutNotAFinishedCall(string protocol, bool cleanEnd)
    {
        await using var harness = await ProviderHarness.StartAsync(protocol);

        // Anthropic: two content events (the empty first piece and the first third of the arguments) then the cut.
        // Gemini streams calls whole: the cut falls after the first of two parallel calls.
        var afterDeltas = protocol == "anthropic" ? 2 : 1;
        var fault = cleanEnd ? FakeResponse.EndWithoutFinal(afterDeltas) : FakeResponse.CutMidStream(afterDeltas);
        harness.Fake.Enqueue(fault with { Content = "", ToolCalls = [ReadCall, ListCall] });
        var events = new List<ProviderStreamEvent>();

        var ex = await Assert.ThrowsAsync<ProviderException>(async () =>
        {
            await foreach (var item in harness.Client.StreamAsync(ToolRequest(harness), CancellationToken.None))
            {
                events.Add(item);
            }
        });

        Assert.Equal(ProviderErrorClass.StreamCut, ex.ErrorClass);
        Assert.True(ex.IsTransient);
        Assert.DoesNotContain(events, e => e.IsFinal);
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.NotNull(e.ToolCall));
    }

    [Fact]
    public async Task Anthropic_ToolChoiceSamplingAndCacheBreakpoints_InTheBody()
    {
        await using var harness = await ProviderHarness.StartAsync("anthropic");
        harness.Fake.Enqueue(FakeResponse.CallingTools(ReadCall));
        var request = ToolRequest(harness, [
            new ChatMessage(ChatRole.System, "You are a coding agent.") { CacheBreakpoint = true },
            new ChatMessage(ChatRole.User, "Open the app.") { CacheBreakpoint = true },
        ]) with
        {
            Tools = [new ToolDefinition("read_file", "Reads a file.", ReadFileSchema) { CacheBreakpoint = true }],
            ToolChoice = new ToolChoice(ToolChoiceKind.Named, "read_file"),
            ParallelToolCalls = false,
            Sampling = new SamplingOptions { Stop = ["\n\nHuman:", "END"], TopP = 0.9, User = "user-42" },
        };

        var response = await harness.Client.CompleteAsync(request, CancellationToken.None);

        Assert.Equal(FinishReason.ToolCalls, response.FinishReason);
        var body = harness.Fake.Requests[0].Json;
        var choice = body.GetProperty("tool_choice");
        Assert.Equal("tool", choice.GetProperty("type").GetString());
        Assert.Equal("read_file", choice.GetProperty("name").GetString());
        Assert.True(choice.GetProperty("disable_parallel_tool_use").GetBoolean());
        Assert.Equal(["\n\nHuman:", "END"], body.GetProperty("stop_sequences").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(0.9, body.GetProperty("top_p").GetDouble());
        Assert.Equal("user-42", body.GetProperty("metadata").GetProperty("user_id").GetString());
        Assert.Equal("ephemeral", body.GetProperty("tools")[0].GetProperty("cache_control").GetProperty("type").GetString());
        Assert.Equal("ephemeral", body.GetProperty("system")[0].GetProperty("cache_control").GetProperty("type").GetString());
        var user = body.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal("ephemeral", user[user.GetArrayLength() - 1].GetProperty("cache_control").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("required", "any")]
    [InlineData("none", "none")]
    public async Task Anthropic_ToolChoiceKinds(string kind, string expected)
    {
        await using var harness = await ProviderHarness.StartAsync("anthropic");
        harness.Fake.Enqueue(FakeResponse.Success("ok"));

        await harness.Client.CompleteAsync(ToolRequest(harness) with { ToolChoice = new ToolChoice(kind == "none" ? ToolChoiceKind.None : ToolChoiceKind.Required) }, CancellationToken.None);

        Assert.Equal(expected, harness.Fake.Requests[0].Json.GetProperty("tool_choice").GetProperty("type").GetString());
    }

    public static TheoryData<string> UnsupportedByAnthropic => new() { "seed", "presence", "frequency", "json_object", "json_schema" };

    [Theory]
    [MemberData(nameof(UnsupportedByAnthropic))]
    public async Task Anthropic_OptionItCannotHonour_RefusedBeforeAnyCall(string option)
    {
        await using var harness = await ProviderHarness.StartAsync("anthropic");
        var sampling = option switch
        {
            "seed" => new SamplingOptions { Seed = 7 },
            "presence" => new SamplingOptions { PresencePenalty = 0.5 },
            "frequency" => new SamplingOptions { FrequencyPenalty = 0.5 },
            "json_object" => new SamplingOptions { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonObject) },
            _ => new SamplingOptions { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "answer", """{"type":"object"}""") },
        };

        foreach (var stream in new[] { false, true })
        {
            var ex = await Assert.ThrowsAsync<ProviderException>(async () => await CallAsync(harness, harness.Request() with { Sampling = sampling }, stream));

            Assert.Equal(ProviderErrorClass.InvalidRequest, ex.ErrorClass);
            Assert.False(ex.IsTransient);
        }

        Assert.Equal(0, harness.Fake.RequestCount);
    }

    [Fact]
    public async Task Gemini_ToolChoiceSamplingAndJsonSchema_InTheBody()
    {
        await using var harness = await ProviderHarness.StartAsync("gemini");
        harness.Fake.Enqueue(FakeResponse.Success("""{"answer":"42"}"""));
        var request = ToolRequest(harness) with
        {
            ToolChoice = new ToolChoice(ToolChoiceKind.Named, "read_file"),
            Sampling = new SamplingOptions
            {
                Stop = ["END"], Seed = 7, TopP = 0.8, PresencePenalty = 0.25, FrequencyPenalty = 0.5,
                ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "answer",
                    """{"type":"object","properties":{"answer":{"type":"string"},"kind":{"const":"final"}},"required":["answer"],"additionalProperties":false}""", Strict: true),
            },
        };

        await harness.Client.CompleteAsync(request, CancellationToken.None);

        var body = harness.Fake.Requests[0].Json;
        var config = body.GetProperty("toolConfig").GetProperty("functionCallingConfig");
        Assert.Equal("ANY", config.GetProperty("mode").GetString());
        Assert.Equal(["read_file"], config.GetProperty("allowedFunctionNames").EnumerateArray().Select(n => n.GetString()));
        var generation = body.GetProperty("generationConfig");
        Assert.Equal(["END"], generation.GetProperty("stopSequences").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(7, generation.GetProperty("seed").GetInt32());
        Assert.Equal(0.8, generation.GetProperty("topP").GetDouble());
        Assert.Equal(0.25, generation.GetProperty("presencePenalty").GetDouble());
        Assert.Equal(0.5, generation.GetProperty("frequencyPenalty").GetDouble());
        Assert.Equal("application/json", generation.GetProperty("responseMimeType").GetString());
        var schema = generation.GetProperty("responseSchema");
        Assert.False(schema.TryGetProperty("additionalProperties", out _));
        Assert.Equal("final", schema.GetProperty("properties").GetProperty("kind").GetProperty("enum")[0].GetString());
    }

    [Theory]
    [InlineData("required", "ANY")]
    [InlineData("none", "NONE")]
    public async Task Gemini_ToolChoiceKinds(string kind, string expected)
    {
        await using var harness = await ProviderHarness.StartAsync("gemini");
        harness.Fake.Enqueue(FakeResponse.Success("ok"));

        await harness.Client.CompleteAsync(ToolRequest(harness) with { ToolChoice = new ToolChoice(kind == "none" ? ToolChoiceKind.None : ToolChoiceKind.Required) }, CancellationToken.None);

        var config = harness.Fake.Requests[0].Json.GetProperty("toolConfig").GetProperty("functionCallingConfig");
        Assert.Equal(expected, config.GetProperty("mode").GetString());
        Assert.False(config.TryGetProperty("allowedFunctionNames", out _));
    }

    [Fact]
    public async Task Gemini_ToolResultWhoseCallIsUnknown_RefusedAsInvalidRequest()
    {
        await using var harness = await ProviderHarness.StartAsync("gemini");
        var request = ToolRequest(harness, [
            new ChatMessage(ChatRole.User, "Go."),
            new ChatMessage(ChatRole.Tool, "output") { ToolCallId = "call_unknown" },
        ]);

        var ex = await Assert.ThrowsAsync<ProviderException>(() => harness.Client.CompleteAsync(request, CancellationToken.None));

        Assert.Equal(ProviderErrorClass.InvalidRequest, ex.ErrorClass);
        Assert.Contains("call_unknown", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, harness.Fake.RequestCount);
    }
}
