using MonkeyCoder.Core.Caching;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Caching;

public sealed class CacheKeyTests
{
    private static TaskRequest Task(string prompt = "p", double temperature = 0) =>
        new() { TaskType = TaskType.CodeGeneration, Prompt = prompt, Temperature = temperature };

    [Fact]
    public void For_EqualRequests_EqualKeys() => Assert.Equal(CacheKey.For(Task()), CacheKey.For(Task()));

    [Fact]
    public void For_AnythingThatShapesTheAnswer_ChangesTheKey()
    {
        var baseKey = CacheKey.For(Task());
        Assert.NotEqual(baseKey, CacheKey.For(Task("q")));
        Assert.NotEqual(baseKey, CacheKey.For(Task(temperature: 0.5)));
        Assert.NotEqual(baseKey, CacheKey.For(Task() with { MaxTokens = 10 }));
        Assert.NotEqual(baseKey, CacheKey.For(Task() with { Files = [new TaskFile("a", "b", "")] }));
        Assert.NotEqual(baseKey, CacheKey.For(Task() with { ModelPreferences = new Dictionary<string, string> { ["simulated"] = "sim-pro" } }));
        Assert.NotEqual(baseKey, CacheKey.For(Task() with { History = [new ChatMessage(ChatRole.User, "earlier")] }));
    }

    [Fact]
    public void For_FieldBoundaries_CannotCollide()
    {
        // Length-prefixed fields: moving text between prompt and instructions changes the key.
        Assert.NotEqual(
            CacheKey.For(Task("ab") with { CustomInstructions = "c" }),
            CacheKey.For(Task("a") with { CustomInstructions = "bc" }));
    }

    [Theory]
    [InlineData(0, false, false, true)]
    [InlineData(0.1, false, false, false)]
    [InlineData(0.7, true, false, true)]
    [InlineData(0, false, true, false)]
    public void IsCacheable_Rules(double temperature, bool optIn, bool bypass, bool expected) =>
        Assert.Equal(expected, CacheKey.IsCacheable(Task(temperature: temperature) with { CacheNondeterministic = optIn, CacheBypass = bypass }));

    [Fact]
    public void For_ToolsChoiceImagesOptionsAndToolTurns_ChangeTheKey()
    {
        var tool = new ToolDefinition("read_file", "Reads", """{"type":"object"}""");
        var withTools = Task() with { Tools = [tool] };
        var variants = new[]
        {
            Task(),
            withTools,
            withTools with { Tools = [tool with { ParametersJsonSchema = """{"type":"object","properties":{}}""" }] },
            withTools with { ToolChoice = new ToolChoice(ToolChoiceKind.Required) },
            withTools with { ToolChoice = new ToolChoice(ToolChoiceKind.Named, "read_file") },
            withTools with { ParallelToolCalls = false },
            Task() with { PromptImages = [new ImagePart { Url = "https://example.com/a.png" }] },
            Task() with { PromptImages = [new ImagePart { MediaType = "image/png", Base64Data = "AAAA" }] },
            Task() with { PromptImages = [new ImagePart { MediaType = "image/png", Base64Data = "AAAB" }] },
            Task() with { Sampling = new SamplingOptions { Stop = ["END"] } },
            Task() with { Sampling = new SamplingOptions { Seed = 1 } },
            Task() with { Sampling = new SamplingOptions { TopP = 0.5 } },
            Task() with { Sampling = new SamplingOptions { PresencePenalty = 0.5 } },
            Task() with { Sampling = new SamplingOptions { FrequencyPenalty = 0.5 } },
            Task() with { Sampling = new SamplingOptions { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonObject) } },
            Task() with { Sampling = new SamplingOptions { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "a", "{}") } },
            Task() with { Sampling = new SamplingOptions { User = "u" } },
            Task() with { History = [new ChatMessage(ChatRole.Assistant, "") { ToolCalls = [new ToolCall("c1", "read_file", "{}")] }, new ChatMessage(ChatRole.Tool, "out") { ToolCallId = "c1" }] },
            Task() with { History = [new ChatMessage(ChatRole.Assistant, "") { ToolCalls = [new ToolCall("c1", "read_file", "{\"a\":1}")] }, new ChatMessage(ChatRole.Tool, "out") { ToolCallId = "c1" }] },
            Task() with { History = [new ChatMessage(ChatRole.Assistant, "") { ToolCalls = [new ToolCall("c1", "read_file", "{}")] }, new ChatMessage(ChatRole.Tool, "out") { ToolCallId = "c1" }], EndsWithToolResults = true },
        };

        var keys = variants.Select(t => CacheKey.For(t)).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }
}
