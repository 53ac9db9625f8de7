using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Sessions;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Sessions;

public sealed class HistoryTrimmerTests
{
    private static List<ChatMessage> Conversation(int pairs) => Enumerable.Range(0, pairs).SelectMany(i => new[]
    {
        new ChatMessage(ChatRole.User, $"question {i}: " + string.Concat(Enumerable.Repeat("word ", 50))),
        new ChatMessage(ChatRole.Assistant, $"answer {i}: " + string.Concat(Enumerable.Repeat("text ", 50))),
    }).ToList();

    [Fact]
    public void Trim_FitsBudget_KeepsNewestWholePairs()
    {
        var history = Conversation(10);
        var trimmed = HistoryTrimmer.Trim(history, 300, TestCatalog.Tokens);

        Assert.InRange(trimmed.Count, 2, 6);
        Assert.Equal(ChatRole.User, trimmed[0].Role);
        Assert.Equal(history[^1], trimmed[^1]);
        Assert.True(trimmed.Sum(m => TestCatalog.Tokens.Count(m.Content) + 4) <= 300);
    }

    [Fact]
    public void Trim_EverythingFits_Unchanged()
    {
        var history = Conversation(2);
        Assert.Same(history, HistoryTrimmer.Trim(history, 100_000, TestCatalog.Tokens));
    }

    [Fact]
    public void Build_SmallModelWindow_TrimsHistoryButKeepsPrompt()
    {
        var task = new TaskRequest { TaskType = TaskType.Chat, Prompt = "latest question", MaxTokens = 100, History = Conversation(20) };
        var small = TestCatalog.Model("small", window: 1_000);
        var large = TestCatalog.Model("large", window: 1_000_000);

        var forSmall = PromptBuilder.Build(task, Persona.Developer, small, TestCatalog.Tokens);
        var forLarge = PromptBuilder.Build(task, Persona.Developer, large, TestCatalog.Tokens);

        Assert.Equal(42, forLarge.Count);
        Assert.True(forSmall.Count < forLarge.Count, $"kept {forSmall.Count} messages");
        Assert.Equal("latest question", forSmall[^1].Content);
        Assert.True(TestCatalog.Tokens.Count(forSmall) + 100 <= 1_000);
    }
}
