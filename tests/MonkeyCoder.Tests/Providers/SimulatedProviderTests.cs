using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Providers.Simulated;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Providers;

public sealed class SimulatedProviderTests
{
    private static readonly CatalogModel Model = TestCatalog.Model("sim-fast");

    private static SimulatedProvider Create(TimeProvider time, int firstTokenMs = 0, int tokensPerSecond = 0) =>
        new(Options.Create(new SimulatedProviderOptions { FirstTokenDelayMs = firstTokenMs, TokensPerSecond = tokensPerSecond }),
            TestCatalog.Tokens, time, NullLogger<SimulatedProvider>.Instance);

    private static ProviderRequest Request(TaskType type, int maxTokens, string prompt = "implement a rate limiter in python") => new()
    {
        Model = Model,
        Messages = [new ChatMessage(ChatRole.System, "You are a developer."), new ChatMessage(ChatRole.User, prompt)],
        MaxTokens = maxTokens,
        TaskType = type,
    };

    [Fact]
    public async Task CompleteAsync_CodeTask_PythonCodeWithRealTokenCounts()
    {
        var response = await Create(TimeProvider.System).CompleteAsync(Request(TaskType.CodeGeneration, 4096), CancellationToken.None);
        Assert.Contains("```python", response.Content, StringComparison.Ordinal);
        Assert.Equal(FinishReason.Stop, response.FinishReason);
        Assert.Equal(TestCatalog.Tokens.Count(response.Content), response.Usage.OutputTokens);
        Assert.InRange(response.Usage.OutputTokens, 100, 500);
        Assert.False(response.Usage.Estimated);
    }

    [Theory]
    [InlineData(TaskType.CodeReview)]
    [InlineData(TaskType.Documentation)]
    [InlineData(TaskType.Testing)]
    public async Task CompleteAsync_MaxTokens_CutsExactlyWithLength(TaskType type)
    {
        var response = await Create(TimeProvider.System).CompleteAsync(Request(type, 25), CancellationToken.None);
        Assert.Equal(FinishReason.Length, response.FinishReason);
        Assert.Equal(25, response.Usage.OutputTokens);
    }

    [Fact]
    public async Task StreamAsync_FakeTime_FirstTokenDelayThenPacedDeltas()
    {
        var time = new FakeTimeProvider();
        var provider = Create(time, firstTokenMs: 500, tokensPerSecond: 100);
        var events = new List<ProviderStreamEvent>();
        var reader = Task.Run(async () =>
        {
            await foreach (var e in provider.StreamAsync(Request(TaskType.CodeGeneration, 60), CancellationToken.None))
            {
                events.Add(e);
            }
        });

        await Task.Delay(50);
        Assert.Empty(events); // nothing before the first-token delay
        // Advance fake time until the stream ends; bounded in real time so a starved machine cannot hang the run.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!reader.IsCompleted && watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(5);
        }

        await reader.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(events[^1].IsFinal);
        Assert.Equal(60, events[^1].Usage!.Value.OutputTokens);
        Assert.True(events.Count(e => !e.IsFinal) >= 3);
    }

    [Fact]
    public async Task StreamAsync_Cancelled_StopsAndReleasesStream()
    {
        var provider = Create(TimeProvider.System, firstTokenMs: 0, tokensPerSecond: 50);
        using var cts = new CancellationTokenSource();
        var count = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in provider.StreamAsync(Request(TaskType.CodeGeneration, 4000), cts.Token))
            {
                if (++count == 1)
                {
                    Assert.Equal(1, provider.ActiveStreams);
                    await cts.CancelAsync();
                }
            }
        });
        Assert.Equal(0, provider.ActiveStreams);
    }
}
