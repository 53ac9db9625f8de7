using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Logging.Abstractions;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Providers.Http;
using MonkeyCoder.Core.Providers.OpenAi;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Providers;

/// <summary>
/// The hand-written <c>chat.completion.chunk</c> reader: what it extracts, what it skips, and that it
/// accepts and refuses exactly what deserializing the <see cref="ChatCompletion"/> DTOs did.
/// </summary>
public sealed class OpenAiChunkParserTests
{
    private const string MockChunk = """{"id":"chatcmpl-AX","object":"chat.completion.chunk","created":1732550400,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":" capital"},"logprobs":null,"finish_reason":null}]}""";

    private static OpenAiChunk Parse(string json)
    {
        var chunk = new OpenAiChunk();
        OpenAiChunkParser.Parse(Encoding.UTF8.GetBytes(json), chunk);
        return chunk;
    }

    [Fact]
    public void Parse_ContentChunk_ContentOnly()
    {
        var chunk = Parse(MockChunk);

        var choice = Assert.Single(chunk.Choices);
        Assert.Equal(" capital", choice.Content);
        Assert.Null(choice.Refusal);
        Assert.Null(choice.FinishReason);
        Assert.Equal(0, choice.ToolCallCount);
        Assert.Empty(chunk.ToolCalls);
        Assert.Null(chunk.Usage);
        Assert.Null(chunk.ErrorJson);
    }

    [Fact]
    public void Parse_RoleOnlyFirstChunk_EmptyContentNoFinish()
    {
        var chunk = Parse("""{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}""");

        var choice = Assert.Single(chunk.Choices);
        Assert.Equal("", choice.Content);
        Assert.Null(choice.Refusal);
        Assert.Null(choice.FinishReason);
    }

    [Fact]
    public void Parse_FinishChunkWithRefusal_FinishAndRefusal()
    {
        var chunk = Parse("""{"choices":[{"index":0,"delta":{"refusal":"I can't help with that."},"finish_reason":"stop"}],"usage":null}""");

        var choice = Assert.Single(chunk.Choices);
        Assert.Equal("stop", choice.FinishReason);
        Assert.Equal("I can't help with that.", choice.Refusal);
        Assert.Null(chunk.Usage);
    }

    [Fact]
    public void Parse_ToolCallDeltas_FirstPieceNamesTheCallLaterOnesCarryArguments()
    {
        var first = Parse("""{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}""");
        var later = Parse("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"loc"}},{"index":1,"id":"","function":{"name":"","arguments":"ation\":"}}]}}]}""");

        Assert.Equal([new ToolCallDelta(0, "call_abc", "get_weather", "")], first.ToolCalls);
        Assert.Null(Assert.Single(first.Choices).Content);
        Assert.Equal([new ToolCallDelta(0, null, null, "{\"loc"), new ToolCallDelta(1, null, null, "ation\":")], later.ToolCalls);
        Assert.Equal((0, 2), (later.Choices[0].ToolCallStart, later.Choices[0].ToolCallCount));
    }

    [Fact]
    public void Parse_ToolCallWithoutIndexOrFunction_IndexZeroNullParts()
    {
        var chunk = Parse("""{"choices":[{"delta":{"tool_calls":[{"id":"call_1","function":null},null]}}]}""");

        Assert.Equal([new ToolCallDelta(0, "call_1", null, null)], chunk.ToolCalls);
    }

    [Fact]
    public void Parse_UsageChunkWithCachedTokens_AllCounts()
    {
        var chunk = Parse("""{"id":"c","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"accepted_prediction_tokens":0}}}""");

        Assert.Empty(chunk.Choices);
        Assert.Equal(new OpenAiUsage(2006, 300, 1920), chunk.Usage);
    }

    [Fact]
    public void Parse_UsageWithoutDetails_NoCachedTokens()
    {
        var chunk = Parse("""{"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":3,"prompt_tokens_details":null}}""");

        Assert.Equal(new OpenAiUsage(11, 3, null), chunk.Usage);
    }

    [Fact]
    public void Parse_EscapedAndNonAsciiStrings_Unescaped()
    {
        var chunk = Parse("""{"choices":[{"index":0,"delta":{"content":"line\n\"q\" \\ \u00e9t\u00E9 \ud83d\ude00 😀 日本 \/"},"finish_reason":"st\u006fp"}]}""");

        Assert.Equal("line\n\"q\" \\ été 😀 😀 日本 /", chunk.Choices[0].Content);
        Assert.Equal("stop", chunk.Choices[0].FinishReason);
    }

    [Fact]
    public void Parse_UnknownFieldsWithNestedObjectsAndArrays_Skipped()
    {
        var chunk = Parse("""
            {"x":{"choices":[{"index":0,"delta":{"content":"WRONG"}}],"usage":{"prompt_tokens":9}},"object":"chat.completion.chunk",
             "choices":[{"logprobs":{"content":[{"token":"Hi","logprob":-0.1,"bytes":[72,105],"top_logprobs":[{"token":"Hi","bytes":null}]}]},
                         "index":0,"extra":[[{"content":"WRONG"}],true,null,1.5e3],
                         "delta":{"content":"Hi","audio":{"id":"a","data":"AAAA"},"tool_calls":[{"index":0,"function":{"arguments":"{}","strict":{"a":[1]}},"custom":{}}]}}],
             "obfuscation":"abc","citations":["u1","u2"]}
            """);

        var choice = Assert.Single(chunk.Choices);
        Assert.Equal("Hi", choice.Content);
        Assert.Equal([new ToolCallDelta(0, null, null, "{}")], chunk.ToolCalls);
        Assert.Null(chunk.Usage);
    }

    [Fact]
    public void Parse_ErrorObject_ItsRawText()
    {
        const string error = """{"message":"The server had an error \"x\"","type":"server_error","param":null,"code":null}""";
        var chunk = Parse("{\"error\": " + error + " }");

        Assert.Equal(error, chunk.ErrorJson);
        Assert.Empty(chunk.Choices);
    }

    [Theory]
    [InlineData("""{"error":null}""")]
    [InlineData("""{"error":"text"}""")]
    [InlineData("""{"error":[{"message":"m"}]}""")]
    public void Parse_ErrorNotAnObject_NoError(string json) => Assert.Null(Parse(json).ErrorJson);

    [Fact]
    public void Parse_OtherChoiceIndexes_Dropped()
    {
        var chunk = Parse("""{"choices":[{"index":1,"delta":{"content":"B","tool_calls":[{"index":0,"id":"call_b"}]}},{"index":0,"delta":{"content":"A","tool_calls":[{"index":0,"id":"call_a"}]}}]}""");

        var choice = Assert.Single(chunk.Choices);
        Assert.Equal("A", choice.Content);
        Assert.Equal([new ToolCallDelta(0, "call_a", null, null)], chunk.ToolCalls);
        Assert.Equal(0, choice.ToolCallStart);
    }

    [Fact]
    public void Parse_PropertyNamesInAnotherCaseAndDuplicates_AsTheSerializer()
    {
        var chunk = Parse("""{"Choices":[{"INDEX":0,"Delta":{"Content":"first","tool_calls":[{"id":"call_1"}]},"delta":{"content":"second"},"Finish_Reason":"length"}],"usage":{"prompt_tokens":1},"usage":null}""");

        var choice = Assert.Single(chunk.Choices);
        Assert.Equal("second", choice.Content);
        Assert.Equal("length", choice.FinishReason);
        Assert.Empty(chunk.ToolCalls);
        Assert.Null(chunk.Usage);
    }

    [Fact]
    public void Parse_SameChunkTwice_PreviousValuesReplaced()
    {
        var chunk = new OpenAiChunk();
        OpenAiChunkParser.Parse("""{"choices":[{"delta":{"tool_calls":[{"id":"call_1"}]}}],"usage":{"prompt_tokens":1},"error":{}}"""u8, chunk);
        OpenAiChunkParser.Parse("""{"choices":[{"delta":{"content":"x"}}]}"""u8, chunk);

        Assert.Equal("x", Assert.Single(chunk.Choices).Content);
        Assert.Empty(chunk.ToolCalls);
        Assert.Null(chunk.Usage);
        Assert.Null(chunk.ErrorJson);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("""{"choices":[{"delta":""")]
    [InlineData("""{"choices":[{"delta":{"content":"a"}}]}}""")]
    [InlineData("""{"choices":[]} {"choices":[]}""")]
    [InlineData("""{"choices":[]} x""")]
    [InlineData("""{"choices":{}}""")]
    [InlineData("""{"choices":[1]}""")]
    [InlineData("""{"choices":[{"index":null}]}""")]
    [InlineData("""{"choices":[{"index":"0"}]}""")]
    [InlineData("""{"choices":[{"index":0.5}]}""")]
    [InlineData("""{"choices":[{"index":4294967296}]}""")]
    [InlineData("""{"choices":[{"delta":{"content":5}}]}""")]
    [InlineData("""{"choices":[{"delta":{"content":["a"]}}]}""")]
    [InlineData("""{"choices":[{"delta":{"role":1}}]}""")]
    [InlineData("""{"choices":[{"delta":"text"}]}""")]
    [InlineData("""{"choices":[{"delta":{"tool_calls":{}}}]}""")]
    [InlineData("""{"choices":[{"delta":{"tool_calls":[{"index":"1"}]}}]}""")]
    [InlineData("""{"choices":[{"delta":{"tool_calls":[{"function":"f"}]}}]}""")]
    [InlineData("""{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":{}}}]}}]}""")]
    [InlineData("""{"choices":[{"finish_reason":true}]}""")]
    [InlineData("""{"choices":[{"message":{"content":1}}]}""")]
    [InlineData("""{"model":7}""")]
    [InlineData("""{"usage":[]}""")]
    [InlineData("""{"usage":{"prompt_tokens":"11"}}""")]
    [InlineData("""{"usage":{"prompt_tokens":1.5}}""")]
    [InlineData("""{"usage":{"total_tokens":-1e2}}""")]
    [InlineData("""{"usage":{"prompt_tokens_details":{"cached_tokens":true}}}""")]
    [InlineData("""{"choices":[{"delta":{"content":"\ud800"}}]}""")]
    [InlineData("{\"choices\":[] // comment\n}")]
    [InlineData("""{'choices':[]}""")]
    [InlineData("""{"choices":[],}""")]
    public void Parse_InvalidJsonOrWrongTypes_JsonExceptionAsTheSerializer(string json)
    {
        Assert.ThrowsAny<JsonException>(() => Parse(json));
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(json, OpenAiJsonContext.Default.ChatCompletion) ?? throw new JsonException("null"));
    }

    [Fact]
    public void Parse_InvalidUtf8InAString_JsonException()
    {
        byte[] json = [.. """{"model":"a"""u8, 0xC3, 0x28, .. "\"}"u8];

        Assert.ThrowsAny<JsonException>(() => OpenAiChunkParser.Parse(json, new OpenAiChunk()));
    }

    [Property(MaxTest = 500)]
    public void Parse_ArbitraryContentWrittenByUtf8JsonWriter_RoundTrips(string? content, string? arguments)
    {
        // Lone surrogates are refused by the writer's escaping as by the reader: keep the strings well-formed.
        content = Wellformed(content);
        arguments = Wellformed(arguments);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("choices");
            writer.WriteStartObject();
            writer.WriteNumber("index", 0);
            writer.WriteStartObject("delta");
            writer.WriteString("content", content);
            writer.WriteStartArray("tool_calls");
            writer.WriteStartObject();
            writer.WriteStartObject("function");
            writer.WriteString("arguments", arguments);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        var chunk = new OpenAiChunk();
        OpenAiChunkParser.Parse(buffer.WrittenSpan, chunk);

        Assert.Equal(content, chunk.Choices[0].Content);
        Assert.Equal(arguments, Assert.Single(chunk.ToolCalls).ArgumentsDelta);
    }

    /// <summary>
    /// Differential: a real chunk with one byte changed, inserted or cut off is accepted by this
    /// parser exactly when the DTO deserializer accepted it, with the same values the stream reads.
    /// </summary>
    [Property(MaxTest = 5000)]
    public void Parse_MutatedChunk_SameVerdictAndValuesAsTheSerializer(NonNegativeInt position, byte value, NonNegativeInt cut, bool insert, NonNegativeInt which)
    {
        string[] samples =
        [
            MockChunk,
            """{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":1,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":8}}}""",
            """{"error":{"message":"Overloaded","type":"server_error"},"choices":null}""",
        ];
        var bytes = Encoding.UTF8.GetBytes(samples[which.Get % samples.Length]).ToList();
        var at = position.Get % bytes.Count;
        if (insert)
        {
            bytes.Insert(at, value);
        }
        else
        {
            bytes[at] = value;
        }

        if (cut.Get % 7 == 0)
        {
            bytes.RemoveRange(at, bytes.Count - at);
        }

        var json = bytes.ToArray();
        var expected = Serializer(json);
        string? actual;
        try
        {
            var chunk = new OpenAiChunk();
            OpenAiChunkParser.Parse(json, chunk);
            actual = Describe(chunk);
        }
        catch (JsonException)
        {
            actual = null;
        }

        Assert.Equal(expected, actual);
    }

    /// <summary>What the stream read from the DTOs before; null when deserializing threw.</summary>
    private static string? Serializer(byte[] json)
    {
        ChatCompletion? completion;
        try
        {
            completion = JsonSerializer.Deserialize(json, OpenAiJsonContext.Default.ChatCompletion);
        }
        catch (JsonException)
        {
            return null;
        }

        if (completion is null)
        {
            return null;
        }

        var text = new StringBuilder();
        try
        {
            text.Append("error=").Append(completion.Error is { ValueKind: JsonValueKind.Object } error ? error.GetRawText() : "-");
        }
        catch (InvalidOperationException)
        {
            // Invalid UTF-8 in an error object: GetRawText threw past the bad-event count; the parser counts a bad event.
            return null;
        }

        text.Append(" usage=").Append(completion.Usage is { } u ? $"{u.PromptTokens}/{u.CompletionTokens}/{u.PromptTokensDetails?.CachedTokens}" : "-");
        foreach (var choice in completion.Choices ?? [])
        {
            if (choice is null || choice.Index != 0)
            {
                continue;
            }

            text.Append(" [").Append(choice.Delta?.Content).Append('|').Append(choice.Delta?.Refusal).Append('|').Append(choice.FinishReason);
            foreach (var call in choice.Delta?.ToolCalls ?? [])
            {
                if (call is not null)
                {
                    text.Append(" call ").Append(new ToolCallDelta(call.Index ?? 0, call.Id is { Length: > 0 } ? call.Id : null,
                        call.Function?.Name is { Length: > 0 } ? call.Function.Name : null, call.Function?.Arguments));
                }
            }

            text.Append(']');
        }

        return text.ToString();
    }

    private static string Describe(OpenAiChunk chunk)
    {
        var text = new StringBuilder();
        text.Append("error=").Append(chunk.ErrorJson ?? "-");
        text.Append(" usage=").Append(chunk.Usage is { } u ? $"{u.PromptTokens}/{u.CompletionTokens}/{u.CachedTokens}" : "-");
        foreach (var choice in chunk.Choices)
        {
            text.Append(" [").Append(choice.Content).Append('|').Append(choice.Refusal).Append('|').Append(choice.FinishReason);
            for (var i = choice.ToolCallStart; i < choice.ToolCallStart + choice.ToolCallCount; i++)
            {
                text.Append(" call ").Append(chunk.ToolCalls[i]);
            }

            text.Append(']');
        }

        return text.ToString();
    }

    private static string? Wellformed(string? text) =>
        text is null ? null : new string([.. text.Select(c => char.IsSurrogate(c) ? '?' : c)]);

    [Fact]
    public async Task StreamAsync_ToolCallPiecesAndEscapedContent_YieldedInOrderWithCachedUsage()
    {
        var settings = new ProviderClientSettings { Name = "openai", BaseUrl = new Uri("https://api.example.test/v1"), ApiKey = "sk-unit-test-key" };
        using var client = new OpenAiClient(settings, TestCatalog.Tokens, TimeProvider.System, NullLogger<OpenAiClient>.Instance, ScriptedHandler.Sse(
            """data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}""" + "\n\n",
            """data: {"choices":[{"index":0,"delta":{"content":"caf\u00e9 \"ok\"\n"}}]}""" + "\n\n",
            """data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}""" + "\n\n",
            """data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]}""" + "\n\n",
            """data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]}""" + "\n\n",
            """data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""" + "\n\n",
            """data: {"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9,"prompt_tokens_details":{"cached_tokens":16}}}""" + "\n\n"));
        var catalogModel = TestCatalog.Shipped().Find("gpt-4.1-mini", "openai")!;
        var request = new ProviderRequest { Model = catalogModel, Messages = [new ChatMessage(ChatRole.User, "Weather?")], MaxTokens = 64 };

        var events = new List<ProviderStreamEvent>();
        await foreach (var item in client.StreamAsync(request, CancellationToken.None))
        {
            events.Add(item);
        }

        Assert.Equal("café \"ok\"\n", Assert.Single(events, e => e.Delta is not null).Delta);
        Assert.Equal(
            [new ToolCallDelta(0, "call_1", "get_weather", ""), new ToolCallDelta(0, null, null, "{\"city\":"), new ToolCallDelta(0, null, null, "\"Paris\"}")],
            events.Where(e => e.ToolCall is not null).Select(e => e.ToolCall!));
        var final = events[^1];
        Assert.Equal(FinishReason.ToolCalls, final.FinishReason);
        Assert.Equal(new TokenUsage(20, 9, CachedInputTokens: 16), final.Usage);
    }
}
