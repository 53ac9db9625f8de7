using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Execution;

/// <summary>
/// A provider that streams a little text, then a tool call in pieces (id and name first, arguments in
/// parts) and finishes with ToolCalls — or, when <paramref name="breakAfterPieces"/> is set on the first
/// call, breaks (stream cut) after that many tool-call pieces.
/// </summary>
internal sealed class ToolCallingProvider(string name, int? breakAfterPieces = null) : IProviderClient
{
    private int _calls;

    public string Provider => name;

    public Uri? BaseUrl => null;

    public int Calls => Volatile.Read(ref _calls);

    public Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("Read as a stream.");

    public async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        await Task.Yield();
        yield return ProviderStreamEvent.Content("Let me look. ");
        ToolCallDelta[] pieces =
        [
            new(0, "call_1", "read_file", ""),
            new(0, null, null, "{\"pa"),
            new(1, "call_2", "list_dir", "{}"),
            new(0, null, null, "th\":\"a.txt\"}"),
        ];
        for (var i = 0; i < pieces.Length; i++)
        {
            if (call == 1 && breakAfterPieces == i)
            {
                throw new ProviderException(name, ProviderErrorClass.StreamCut, "The stream ended before its terminator.");
            }

            yield return ProviderStreamEvent.ToolCallPart(pieces[i]);
        }

        yield return ProviderStreamEvent.Final(FinishReason.ToolCalls, new TokenUsage(30, 12));
    }
}

public sealed class ToolCallStreamTests
{
    private static readonly CatalogModel First = TestCatalog.Model("m1", "p1");
    private static readonly CatalogModel Second = TestCatalog.Model("m2", "p2");

    private static Harness HarnessFor(params IProviderClient[] providers) =>
        new(new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), new ExecutionOptions { RetryBaseDelayMs = 0, RetryMaxDelayMs = 0 }, null, providers);

    [Fact]
    public async Task Stream_ToolCallPieces_PassedOnAndAssembledInTheOutcome()
    {
        var harness = HarnessFor(new ToolCallingProvider("p1"));

        var events = await harness.StreamAsync(Harness.Plan(First));

        Assert.Equal(4, events.Count(e => e.ToolCall is not null));
        var outcome = events[^1].Completed!;
        Assert.Equal(FinishReason.ToolCalls, outcome.FinishReason);
        Assert.Equal("Let me look. ", outcome.Content);
        Assert.Equal([new ToolCall("call_1", "read_file", """{"path":"a.txt"}"""), new ToolCall("call_2", "list_dir", "{}")], outcome.ToolCalls);
    }

    [Fact]
    public async Task Unary_ReadsTheStream_OutcomeCarriesTheToolCalls()
    {
        var harness = HarnessFor(new ToolCallingProvider("p1"));

        var outcome = await harness.ExecuteAsync(Harness.Plan(First));

        Assert.Equal(FinishReason.ToolCalls, outcome.FinishReason);
        Assert.Equal(2, outcome.ToolCalls.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Stream_BrokenAfterAToolCallPiece_FailsNeverContinued_AttemptBilled(int piecesSent)
    {
        var first = new ToolCallingProvider("p1", breakAfterPieces: piecesSent);
        var second = new ToolCallingProvider("p2");
        var harness = HarnessFor(first, second);

        var ex = await Assert.ThrowsAsync<ProviderException>(() => harness.StreamAsync(Harness.Plan(First, Second)));

        Assert.Equal(ProviderErrorClass.StreamCut, ex.ErrorClass);
        Assert.Equal(1, first.Calls);
        Assert.Equal(0, second.Calls);
        var attempt = Assert.Single(harness.LastScope!.Attempts);
        Assert.True(attempt.Usage.OutputTokens > 0, "the broken attempt's tokens are billed");
    }

    [Fact]
    public async Task Stream_BrokenInTextBeforeAnyToolCall_StillRecovered()
    {
        // Control: the same break with no tool-call piece sent is continued on the next candidate.
        var first = new ToolCallingProvider("p1", breakAfterPieces: 0);
        var second = new ToolCallingProvider("p2");
        var harness = HarnessFor(first, second);

        var events = await harness.StreamAsync(Harness.Plan(First, Second));

        Assert.True(events[^1].Completed!.Recovered);
        Assert.Equal(2, first.Calls + second.Calls);
    }
}
