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
}
