using System.Runtime.CompilerServices;
using FsCheck;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Execution.Recovery;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Execution;

/// <summary>
/// Plays a model with one canonical answer: the first call breaks after <c>cutAt</c> characters
/// (a stream cut); a continuation (trailing assistant prefill, or the executor's quoting
/// instruction) continues the text exactly — or, with <c>restart</c>, starts over from the
/// beginning. Text leaves in chunks of the given sizes (cycled), so cuts and chunk boundaries fall anywhere.
/// </summary>
internal sealed class CanonicalProvider(string name, string text, int cutAt, int[] chunks, bool restart = false, bool rejectPrefill = false) : IProviderClient
{
    private int _calls;

    public string Provider => name;

    public Uri? BaseUrl => null;

    public List<ProviderRequest> Requests { get; } = [];

    public int Calls => Volatile.Read(ref _calls);

    public Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("Recovery reads streams.");

    public async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        lock (Requests)
        {
            Requests.Add(request);
        }

        await Task.Yield();
        var last = request.Messages[^1];
        var send = text;
        if (last.Role == ChatRole.Assistant)
        {
            if (rejectPrefill)
            {
                throw new ProviderException(name, ProviderErrorClass.PrefillRejected, "This model does not support assistant message prefill.") { HttpStatus = 400 };
            }

            send = text.StartsWith(last.Content, StringComparison.Ordinal) ? text[last.Content.Length..] : text;
        }
        else if (last.Content.IndexOf(ContinuationRequests.QuoteStart, StringComparison.Ordinal) is var from and >= 0)
        {
            var start = from + ContinuationRequests.QuoteStart.Length;
            var quoted = last.Content[start..last.Content.LastIndexOf(ContinuationRequests.QuoteEnd, StringComparison.Ordinal)];
            send = restart || !text.StartsWith(quoted, StringComparison.Ordinal) ? text : text[quoted.Length..];
        }

        var limit = call == 1 ? cutAt : int.MaxValue;
        var sent = 0;
        for (var i = 0; sent < send.Length; i++)
        {
            var size = Math.Min(Math.Max(1, chunks[i % chunks.Length]), send.Length - sent);
            if (sent + size > limit)
            {
                size = limit - sent;
            }

            if (size > 0)
            {
                yield return ProviderStreamEvent.Content(send.Substring(sent, size));
                sent += size;
            }

            if (sent >= limit)
            {
                throw new ProviderException(name, ProviderErrorClass.StreamCut, "scripted cut");
            }
        }

        yield return ProviderStreamEvent.Final(FinishReason.Stop, new TokenUsage(10, Math.Max(1, send.Length / 4)));
    }
}

public sealed class StreamRecoveryTests
{
    private static readonly CatalogModel Plain = TestCatalog.Model("m1", "p1");
    private static readonly CatalogModel Prefilling = TestCatalog.Model("m1", "p1") with { SupportsAssistantPrefill = true };

    /// <summary>Distinct words ("w0001 w0002 …"), with a newline now and then as code has: no word repeats, so a repeat can only be a real one.</summary>
    private static string Canonical(int words) =>
        string.Concat(Enumerable.Range(1, words).Select(i => $"w{i:0000}" + (i == words ? "." : i % 7 == 0 ? "\n" : " ")));

    private static Harness HarnessFor(IProviderClient provider, ExecutionOptions? options = null) =>
        new(new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), options ?? new ExecutionOptions { RetryBaseDelayMs = 0, RetryMaxDelayMs = 0 }, null, provider);

    public enum Form
    {
        Prefill,
        InstructionContinues,
        InstructionRestarts,
    }

    [Property(MaxTest = 300)]
    public bool StreamAsync_AnyCutAndChunking_CallerGetsTheTextExactlyOnce(PositiveInt words, NonNegativeInt cut, NonEmptyArray<PositiveInt> chunkSizes, Form form)
    {
        var text = Canonical(1 + (words.Get % 120));
        var cutAt = 1 + (cut.Get % (text.Length - 1));
        var chunks = chunkSizes.Get.Select(c => 1 + (c.Get % 40)).ToArray();
        var provider = new CanonicalProvider("p1", text, cutAt, chunks, restart: form == Form.InstructionRestarts);
        var harness = HarnessFor(provider);
        var model = form == Form.Prefill ? Prefilling : Plain;

        var events = Task.Run(() => harness.StreamAsync(Harness.Plan(model))).GetAwaiter().GetResult();

        var outcome = events[^1].Completed!;
        var streamed = string.Concat(events.Where(e => e.Completed is null).Select(e => e.Delta));
        return streamed == text && outcome.Content == text && outcome.Recovered && provider.Calls == 2
            && outcome.Attempts.Select(a => a.Outcome).SequenceEqual(["stream_cut", "ok"]);
    }

    [Property(MaxTest = 100)]
    public bool ExecuteAsync_AnyCut_UnaryAnswerIsTheTextExactlyOnce(PositiveInt words, NonNegativeInt cut, Form form)
    {
        var text = Canonical(1 + (words.Get % 80));
        var cutAt = 1 + (cut.Get % (text.Length - 1));
        var provider = new CanonicalProvider("p1", text, cutAt, [3, 7, 1, 12], restart: form == Form.InstructionRestarts);
        var harness = HarnessFor(provider);

        var outcome = Task.Run(() => harness.ExecuteAsync(Harness.Plan(form == Form.Prefill ? Prefilling : Plain))).GetAwaiter().GetResult();

        return outcome.Content == text && outcome.Recovered;
    }

    [Fact]
    public async Task StreamAsync_Recovered_AttemptsCarryDeliveredTokensUsageIsTheAnswersBilledSumsBoth()
    {
        var text = Canonical(60);
        var provider = new CanonicalProvider("p1", text, text.Length / 2, [5]);
        var harness = HarnessFor(provider);

        var events = await harness.StreamAsync(Harness.Plan(Plain));

        var outcome = events[^1].Completed!;
        Assert.True(outcome.Recovered);
        Assert.Equal(2, outcome.Attempts.Count);
        Assert.All(outcome.Attempts, a => Assert.True(a.DeliveredTokens > 0));
        var total = TestCatalog.Tokens.Count(text);
        Assert.InRange(outcome.Attempts.Sum(a => a.DeliveredTokens), total - 2, total + 2);
        // usage: the answer's (the prompt once, both parts' output); billed: both attempts in full.
        Assert.Equal(outcome.Attempts[0].Usage.InputTokens, outcome.Usage.InputTokens);
        Assert.Equal(outcome.Attempts[0].Usage.OutputTokens + outcome.Attempts[1].Usage.OutputTokens, outcome.Usage.OutputTokens);
        Assert.Equal(outcome.Attempts[0].Usage.TotalTokens + outcome.Attempts[1].Usage.TotalTokens, outcome.Billed.TotalTokens);
        Assert.Equal(outcome.Attempts[0].CostUsd + outcome.Attempts[1].CostUsd, outcome.Billed.CostUsd, 12);
        Assert.True(outcome.Billed.InputTokens > outcome.Usage.InputTokens, "the continuation's prompt is billed too");
        // The continuation was asked with an instruction quoting the delivered half (no prefill for this model).
        Assert.Equal(ChatRole.User, provider.Requests[1].Messages[^1].Role);
        Assert.Contains(text[..(text.Length / 2)], provider.Requests[1].Messages[^1].Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamAsync_PrefillRejected_RetriedAtOnceWithoutPrefillAndRemembered()
    {
        var text = Canonical(40);
        var provider = new CanonicalProvider("p1", text, 50, [4], rejectPrefill: true);
        var harness = HarnessFor(provider);

        var events = await harness.StreamAsync(Harness.Plan(Prefilling));
        var outcome = events[^1].Completed!;

        Assert.Equal(text, outcome.Content);
        Assert.Equal(["stream_cut", "prefill_rejected", "ok"], outcome.Attempts.Select(a => a.Outcome));
        Assert.Equal(ChatRole.Assistant, provider.Requests[1].Messages[^1].Role);
        Assert.Equal(ChatRole.User, provider.Requests[2].Messages[^1].Role);
    }

    [Fact]
    public async Task StreamAsync_RecoveryCapReached_EndsWithTheBreakNeverACompletion()
    {
        var text = Canonical(40);
        // Every call cuts: the first at 30 characters, continuations too (cutAt applies to call 1 only, so script more cuts).
        var harness = HarnessFor(new AlwaysCut("p1", "abc "), new ExecutionOptions { MaxRecoveriesPerCall = 1 });

        var events = new List<ExecutionEvent>();
        var ex = await Assert.ThrowsAsync<ProviderException>(() => harness.Drive(Collect(harness, events)));

        Assert.Equal(ProviderErrorClass.StreamCut, ex.ErrorClass);
        Assert.DoesNotContain(events, e => e.Completed is not null);
        Assert.Equal(2, harness.LastScope!.Attempts.Count);
        Assert.NotEmpty(text);
    }

    [Fact]
    public async Task StreamAsync_RecoveryOff_BreakEndsTheStream()
    {
        var text = Canonical(40);
        var harness = HarnessFor(new CanonicalProvider("p1", text, 30, [4]), new ExecutionOptions { StreamRecovery = false });
        var events = new List<ExecutionEvent>();

        var ex = await Assert.ThrowsAsync<ProviderException>(() => harness.Drive(Collect(harness, events)));

        Assert.Equal(ProviderErrorClass.StreamCut, ex.ErrorClass);
        Assert.Equal(text[..30], string.Concat(events.Select(e => e.Delta)));
    }

    [Theory]
    [InlineData("hello wor", "ld and more", 0)] // exact continuation
    [InlineData("hello wor", "hello world and more", 9)] // restart
    [InlineData("int x = 1;\nfuncti", "function f()", 6)] // repeats the cut word
    [InlineData("say hello ", "hello there", 6)] // repeats the last word
    [InlineData("aaa bbs", "s ccc", 0)] // a coincidental one-letter overlap is kept
    [InlineData("alpha beta gamma", "beta gamma delta", 10)] // repeats the last words
    public void RepeatedPrefix_Cases(string delivered, string continuation, int expected) =>
        Assert.Equal(expected, OverlapTrimmer.RepeatedPrefix(delivered, continuation));

    [Fact]
    public void Push_RestartInSmallChunks_HeldBackThenOnlyTheNewTextReleased()
    {
        var trimmer = new OverlapTrimmer("one two three ");
        var released = string.Concat(new[] { "on", "e t", "wo th", "ree ", "fo", "ur" }.Select(trimmer.Push)) + trimmer.Flush();
        Assert.Equal("four", released);
    }

    private static async Task<List<ExecutionEvent>> Collect(Harness harness, List<ExecutionEvent> into)
    {
        await foreach (var e in harness.Engine.StreamAsync(Harness.Plan(Plain), "exec_test", CancellationToken.None, started: s => harness.LastScope = s))
        {
            into.Add(e);
        }

        return into;
    }

    /// <summary>Every call sends one piece and then cuts.</summary>
    private sealed class AlwaysCut(string name, string piece) : IProviderClient
    {
        public string Provider => name;

        public Uri? BaseUrl => null;

        public Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken) => throw new InvalidOperationException();

        public async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            yield return ProviderStreamEvent.Content(piece + request.Messages.Count);
            throw new ProviderException(name, ProviderErrorClass.StreamCut, "scripted cut");
        }
    }
}
