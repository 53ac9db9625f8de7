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

    /// <summary>An agent loop: one user turn, then assistant tool calls each followed by their (large) results.</summary>
    private static List<ChatMessage> AgentLoop(int steps)
    {
        var history = new List<ChatMessage> { new(ChatRole.User, "fix the failing test") };
        for (var i = 0; i < steps; i++)
        {
            history.Add(new ChatMessage(ChatRole.Assistant, "")
            {
                ToolCalls = [new ToolCall($"call_{i}a", "read_file", $$"""{"path":"file{{i}}.cs"}"""), new ToolCall($"call_{i}b", "list_dir", "{}")],
            });
            history.Add(new ChatMessage(ChatRole.Tool, $"content {i}: " + string.Concat(Enumerable.Repeat("code ", 60))) { ToolCallId = $"call_{i}a" });
            history.Add(new ChatMessage(ChatRole.Tool, "a.cs b.cs") { ToolCallId = $"call_{i}b" });
            history.Add(new ChatMessage(ChatRole.User, $"now step {i + 1}"));
        }

        return history;
    }

    [Theory]
    [InlineData(150)]
    [InlineData(300)]
    [InlineData(500)]
    [InlineData(900)]
    public void Trim_ToolCallsAndResults_NeverSeparated(int budget)
    {
        var trimmed = HistoryTrimmer.Trim(AgentLoop(6), budget, TestCatalog.Tokens);

        Assert.NotEmpty(trimmed);
        Assert.Equal(ChatRole.User, trimmed[0].Role);
        var calls = trimmed.SelectMany(m => m.ToolCalls).Select(c => c.Id).ToHashSet();
        var results = trimmed.Where(m => m.Role == ChatRole.Tool).Select(m => m.ToolCallId!).ToHashSet();
        Assert.Equal(calls, results);
        Assert.True(TestCatalog.Tokens.Count(trimmed) - 3 <= budget);
    }

    [Fact]
    public void Trim_EndingWithToolResults_KeepLast_KeepsTheCallWithItsResults()
    {
        var history = AgentLoop(3);
        history.RemoveAt(history.Count - 1); // ends with the last step's tool results

        var trimmed = HistoryTrimmer.Trim(history, 5, TestCatalog.Tokens, keepLast: true);

        Assert.Equal(3, trimmed.Count);
        Assert.True(trimmed[0].HasToolCalls);
        Assert.All(trimmed.Skip(1), m => Assert.Equal(ChatRole.Tool, m.Role));
        Assert.Empty(HistoryTrimmer.Trim(history, 5, TestCatalog.Tokens));
    }

    [Fact]
    public void Build_EndsWithToolResults_NoUserPromptAppended_PromptImagesOnLastUserTurn()
    {
        var history = AgentLoop(1);
        history.RemoveAt(history.Count - 1);
        var endsWithResults = new TaskRequest { TaskType = TaskType.Chat, Prompt = "fix the failing test", History = history, EndsWithToolResults = true };
        var messages = PromptBuilder.Build(endsWithResults, Persona.Developer);
        Assert.Equal(ChatRole.System, messages[0].Role);
        Assert.Equal(ChatRole.Tool, messages[^1].Role);
        Assert.Equal(history.Count + 1, messages.Count);

        var image = new ImagePart { Url = "https://example.com/a.png" };
        var withImage = new TaskRequest { TaskType = TaskType.Chat, Prompt = "what is this?", PromptImages = [image] };
        var built = PromptBuilder.Build(withImage, Persona.Developer);
        Assert.Equal(ChatRole.User, built[^1].Role);
        Assert.Equal([image], built[^1].Images);
    }
}
