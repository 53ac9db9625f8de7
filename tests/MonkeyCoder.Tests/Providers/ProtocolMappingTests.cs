using System.Buffers;
using System.Text.Json;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Providers.Anthropic;
using MonkeyCoder.Core.Providers.Gemini;

namespace MonkeyCoder.Tests.Providers;

/// <summary>The pure request translations of the Anthropic and Gemini clients, without HTTP.</summary>
public sealed class ProtocolMappingTests
{
    private static readonly ModelCatalog Catalog = TestCatalog.Shipped();

    private static JsonElement Body(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
        }

        return JsonDocument.Parse(buffer.WrittenMemory).RootElement.Clone();
    }

    private static JsonElement Schema(string schema) => Body(json => GeminiSchema.Write(json, JsonDocument.Parse(schema).RootElement));

    private static ProviderRequest Request(string provider, string model, params ChatMessage[] messages) => new()
    {
        Model = Catalog.Find(model, provider)!,
        Messages = messages,
        MaxTokens = 100,
    };

    [Fact]
    public void GeminiSchema_DropsKeysGeminiRefusesAndTranslatesTheRest()
    {
        var schema = Schema("""
            {"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false,
             "properties":{
               "mode":{"oneOf":[{"type":"string","enum":["a","b"]},{"type":"null"}]},
               "when":{"type":"string","format":"date-time"},
               "url":{"type":"string","format":"uri","examples":["x"]},
               "fixed":{"const":"yes"},
               "tags":{"type":"array","items":{"type":["integer","null"]},"minItems":1},
               "node":{"$ref":"#/$defs/node"}},
             "required":["mode"],
             "$defs":{"node":{"type":"object","properties":{"name":{"type":"string"}},"additionalProperties":false}}}
            """);

        Assert.Equal(["type", "properties", "required"], schema.EnumerateObject().Select(p => p.Name));
        var properties = schema.GetProperty("properties");
        var mode = properties.GetProperty("mode");
        Assert.True(mode.GetProperty("nullable").GetBoolean());
        Assert.Equal(["a", "b"], Assert.Single(mode.GetProperty("anyOf").EnumerateArray()).GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("date-time", properties.GetProperty("when").GetProperty("format").GetString());
        Assert.False(properties.GetProperty("url").TryGetProperty("format", out _));
        Assert.False(properties.GetProperty("url").TryGetProperty("examples", out _));
        Assert.Equal("yes", properties.GetProperty("fixed").GetProperty("enum")[0].GetString());
        var items = properties.GetProperty("tags").GetProperty("items");
        Assert.Equal("integer", items.GetProperty("type").GetString());
        Assert.True(items.GetProperty("nullable").GetBoolean());
        Assert.Equal(1, properties.GetProperty("tags").GetProperty("minItems").GetInt32());
        var node = properties.GetProperty("node");
        Assert.Equal("string", node.GetProperty("properties").GetProperty("name").GetProperty("type").GetString());
        Assert.False(node.TryGetProperty("additionalProperties", out _));
    }

    [Fact]
    public void GeminiSchema_RecursiveReference_CutAtADepthNotAStackOverflow()
    {
        var schema = Schema("""{"type":"object","properties":{"child":{"$ref":"#"}}}""");

        var depth = 0;
        for (var node = schema; node.TryGetProperty("properties", out var properties); node = properties.GetProperty("child"))
        {
            depth++;
        }

        Assert.InRange(depth, 2, 20);
    }

    [Theory]
    [InlineData("https://x.test/a/b.PNG", "image/png")]
    [InlineData("https://x.test/photo.jpg?size=2", "image/jpeg")]
    [InlineData("https://x.test/image", null)]
    public void Gemini_GuessesTheImageTypeOfAUrl(string url, string? expected) =>
        Assert.Equal(expected, GeminiRequestBody.GuessImageType(url));

    [Fact]
    public void Gemini_ConsecutiveTurnsOfOneRoleMerge_AndReplayedCallsCarryTheSkipSignature()
    {
        var request = Request("google", "gemini-2.5-flash",
            new ChatMessage(ChatRole.User, "first"),
            new ChatMessage(ChatRole.User, "second"),
            new ChatMessage(ChatRole.Assistant, "") { ToolCalls = [new ToolCall("c1", "f", "{}"), new ToolCall("c2", "g", "")] },
            new ChatMessage(ChatRole.Tool, "r1") { ToolCallId = "c1" },
            new ChatMessage(ChatRole.Tool, "r2") { ToolCallId = "c2" },
            new ChatMessage(ChatRole.User, "and now?"));

        var contents = Body(json => GeminiRequestBody.Write(json, request, "google")).GetProperty("contents");

        Assert.Equal(["user", "model", "user"], contents.EnumerateArray().Select(c => c.GetProperty("role").GetString()));
        Assert.Equal(2, contents[0].GetProperty("parts").GetArrayLength());
        var calls = contents[1].GetProperty("parts");
        Assert.Equal(GeminiRequestBody.SkipThoughtSignature, calls[0].GetProperty("thoughtSignature").GetString());
        Assert.False(calls[1].TryGetProperty("thoughtSignature", out _));
        Assert.Equal(JsonValueKind.Object, calls[1].GetProperty("functionCall").GetProperty("args").ValueKind);
        Assert.Equal(["functionResponse", "functionResponse", "text"], contents[2].GetProperty("parts").EnumerateArray().Select(p => p.EnumerateObject().First().Name));
    }

    [Fact]
    public void Anthropic_PlainConversation_StaysStringContent()
    {
        var request = Request("anthropic", "claude-sonnet-4-20250514",
            new ChatMessage(ChatRole.System, "sys"), new ChatMessage(ChatRole.User, "hi"), new ChatMessage(ChatRole.Assistant, "hello"));

        var body = Body(json => AnthropicRequestBody.Write(json, request, stream: false, "anthropic"));

        Assert.Equal("sys", body.GetProperty("system").GetString());
        Assert.All(body.GetProperty("messages").EnumerateArray(), m => Assert.Equal(JsonValueKind.String, m.GetProperty("content").ValueKind));
        Assert.False(body.TryGetProperty("tools", out _));
        Assert.False(body.TryGetProperty("stream", out _));
    }

    [Fact]
    public void Anthropic_UserTextAfterToolResults_JoinsTheirTurnAfterTheResults()
    {
        var request = Request("anthropic", "claude-sonnet-4-20250514",
            new ChatMessage(ChatRole.User, "go"),
            new ChatMessage(ChatRole.Assistant, "") { ToolCalls = [new ToolCall("toolu_1", "f", """{"a":1}""")] },
            new ChatMessage(ChatRole.Tool, "done") { ToolCallId = "toolu_1" },
            new ChatMessage(ChatRole.User, "thanks, continue"));

        var messages = Body(json => AnthropicRequestBody.Write(json, request, stream: true, "anthropic")).GetProperty("messages");

        Assert.Equal(3, messages.GetArrayLength());
        var assistant = Assert.Single(messages[1].GetProperty("content").EnumerateArray());
        Assert.Equal("tool_use", assistant.GetProperty("type").GetString());
        Assert.Equal(1, assistant.GetProperty("input").GetProperty("a").GetInt32());
        Assert.Equal(["tool_result", "text"], messages[2].GetProperty("content").EnumerateArray().Select(b => b.GetProperty("type").GetString()));
    }

    [Fact]
    public void ToolArgumentsThatAreNotAnObject_RefusedAsInvalidRequest()
    {
        var request = Request("anthropic", "claude-sonnet-4-20250514",
            new ChatMessage(ChatRole.User, "go"),
            new ChatMessage(ChatRole.Assistant, "") { ToolCalls = [new ToolCall("toolu_1", "f", "{\"a\":")] });

        var ex = Assert.Throws<ProviderException>(() => Body(json => AnthropicRequestBody.Write(json, request, stream: false, "anthropic")));

        Assert.Equal(ProviderErrorClass.InvalidRequest, ex.ErrorClass);
        Assert.Contains("toolu_1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gemini_SynthesizedCallIds_StableAndDistinct()
    {
        Assert.Equal(GeminiClient.SynthesizeId(0, "f", "{}"), GeminiClient.SynthesizeId(0, "f", "{}"));
        Assert.NotEqual(GeminiClient.SynthesizeId(0, "f", "{}"), GeminiClient.SynthesizeId(1, "f", "{}"));
        Assert.NotEqual(GeminiClient.SynthesizeId(0, "f", "{}"), GeminiClient.SynthesizeId(0, "f", """{"a":1}"""));
        Assert.Matches("^call_0_[0-9a-f]{12}$", GeminiClient.SynthesizeId(0, "f", "{}"));
    }
}
