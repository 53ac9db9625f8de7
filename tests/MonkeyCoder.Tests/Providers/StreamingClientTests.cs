using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Providers.Anthropic;
using MonkeyCoder.Core.Providers.Http;
using MonkeyCoder.Core.Providers.OpenAi;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Providers;

/// <summary>
/// Server-sent event handling of the clients on an in-process handler (no network): what real
/// streams do to a parser, and the timeouts on fake time.
/// </summary>
public sealed class StreamingClientTests
{
    private static readonly CatalogModel Gpt = TestCatalog.Shipped().Find("gpt-4.1-mini", "openai")!;
    private static readonly CatalogModel Claude = TestCatalog.Shipped().Find("claude-sonnet-4-20250514", "anthropic")!;

    private static readonly ProviderClientSettings Settings = new()
    {
        Name = "openai",
        BaseUrl = new Uri("https://api.example.test/v1"),
        ApiKey = "sk-unit-test-key",
        ResponseHeadersTimeout = TimeSpan.FromSeconds(10),
        StreamIdleTimeout = TimeSpan.FromSeconds(5),
    };

    private static ProviderRequest Request(CatalogModel model) => new()
    {
        Model = model,
        Messages = [new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "Say hello.")],
        MaxTokens = 64,
        Temperature = 0.2,
    };

    private static string Chunk(string content, string finish = "null") =>
        $"{{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4.1-mini\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"finish_reason\":{finish}}}],\"usage\":null}}";

    private const string UsageChunk = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":3,\"total_tokens\":14}}";

    private static async Task<(string Content, ProviderStreamEvent Final)> StreamAsync(HttpProviderClient client, CatalogModel model, CancellationToken cancellationToken = default)
    {
        var content = new StringBuilder();
        ProviderStreamEvent? final = null;
        await foreach (var item in client.StreamAsync(Request(model), cancellationToken))
        {
            if (item.IsFinal)
            {
                final = item;
            }
            else
            {
                content.Append(item.Delta);
            }
        }

        return (content.ToString(), final ?? throw new InvalidOperationException("no final event"));
    }

    private static OpenAiClient OpenAi(HttpMessageHandler handler, TimeProvider? time = null) =>
        new(Settings, TestCatalog.Tokens, time ?? TimeProvider.System, NullLogger<OpenAiClient>.Instance, handler);

    [Fact]
    public async Task StreamAsync_CommentsCrlfAndOneByteReads_ParsesEveryEvent()
    {
        var wire = ": keep-alive\r\n\r\n"
            + $"data: {Chunk("Hel")}\r\n\r\n"
            + ":\r\n\r\n"
            + $"data: {Chunk("lo")}\r\n\r\n"
            + $"data: {Chunk("", "\"stop\"")}\r\n\r\n"
            + $"data: {UsageChunk}\r\n\r\n"
            + "data: [DONE]\r\n\r\n";
        using var client = OpenAi(new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Response(HttpStatusCode.OK, new PiecewiseStream(PiecewiseStream.Bytes(wire, 1)), "text/event-stream"))));

        var (content, final) = await StreamAsync(client, Gpt);

        Assert.Equal("Hello", content);
        Assert.Equal(FinishReason.Stop, final.FinishReason);
        Assert.Equal(new TokenUsage(11, 3), final.Usage);
    }

    [Fact]
    public async Task StreamAsync_MultiLineDataAndEventsSplitAcrossReads_JoinsLines()
    {
        // One JSON event spread over two data: lines (joined with \n), delivered in 7-byte pieces.
        var wire = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\n"
            + "data: \"delta\":{\"content\":\"multi\"},\"finish_reason\":null}]}\n\n"
            + $"data: {Chunk("line", "\"length\"")}\n\n"
            + $"data: {UsageChunk}\n\n"
            + "data: [DONE]\n\n";
        using var client = OpenAi(new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Response(HttpStatusCode.OK, new PiecewiseStream(PiecewiseStream.Bytes(wire, 7)), "text/event-stream"))));

        var (content, final) = await StreamAsync(client, Gpt);

        Assert.Equal("multiline", content);
        Assert.Equal(FinishReason.Length, final.FinishReason);
    }

    [Fact]
    public async Task StreamAsync_NoDoneAfterCompleteFinalChunk_FinishesAtEof()
    {
        using var client = OpenAi(ScriptedHandler.Sse($"data: {Chunk("done")}\n\n", $"data: {Chunk("", "\"stop\"")}\n\n"));

        var (content, final) = await StreamAsync(client, Gpt);

        Assert.Equal("done", content);
        Assert.Equal(FinishReason.Stop, final.FinishReason);
        Assert.True(final.Usage!.Value.Estimated);
    }

    [Fact]
    public async Task StreamAsync_UsageChunkThenSilence_FinishesWithoutWaitingForDone()
    {
        var time = new FakeTimeProvider();
        var body = new PiecewiseStream([Encoding.UTF8.GetBytes($"data: {Chunk("hi", "\"stop\"")}\n\ndata: {UsageChunk}\n\n")], blockAtEnd: true);
        using var client = OpenAi(new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Response(HttpStatusCode.OK, body, "text/event-stream"))), time);

        var (content, final) = await StreamAsync(client, Gpt).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal("hi", content);
        Assert.Equal(new TokenUsage(11, 3), final.Usage);
    }

    [Fact]
    public async Task StreamAsync_FinishWithoutUsageThenSilence_FinishesAfterGraceWithEstimatedUsage()
    {
        var time = new FakeTimeProvider();
        var body = new PiecewiseStream([Encoding.UTF8.GetBytes($"data: {Chunk("hi", "\"stop\"")}\n\n")], blockAtEnd: true);
        using var client = OpenAi(new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Response(HttpStatusCode.OK, body, "text/event-stream"))), time);

        var streaming = StreamAsync(client, Gpt);
        await body.Blocked.WaitAsync(TimeSpan.FromSeconds(5));
        // Fake time moves in 250 ms steps (the grace timer may be armed just after the read blocks). Each step
        // gives the stream up to 200 ms of real time to finish, so a busy machine's slow finish after the grace
        // fired is not read as the grace being longer.
        var advanced = TimeSpan.Zero;
        for (var i = 0; i < 200 && !streaming.IsCompleted; i++)
        {
            await Task.WhenAny(streaming, Task.Delay(200));
            if (streaming.IsCompleted)
            {
                break;
            }

            time.Advance(TimeSpan.FromMilliseconds(250));
            advanced += TimeSpan.FromMilliseconds(250);
        }

        var (content, final) = await streaming.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(advanced, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));

        Assert.Equal("hi", content);
        Assert.Equal(FinishReason.Stop, final.FinishReason);
        Assert.True(final.Usage!.Value.Estimated);
    }

    [Fact]
    public async Task StreamAsync_UsageChunkWithinGrace_ReportedUsageKept()
    {
        var time = new FakeTimeProvider();
        var body = new PiecewiseStream([Encoding.UTF8.GetBytes($"data: {Chunk("hi", "\"stop\"")}\n\n"), Encoding.UTF8.GetBytes($"data: {UsageChunk}\n\n")], blockAtEnd: true);
        using var client = OpenAi(new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Response(HttpStatusCode.OK, body, "text/event-stream"))), time);

        var (_, final) = await StreamAsync(client, Gpt).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(new TokenUsage(11, 3), final.Usage);
    }

    [Fact]
    public async Task StreamAsync_OneInvalidJsonEvent_SkippedAndAnswerCompletes()
    {
        using var client = OpenAi(ScriptedHandler.Sse($"data: {Chunk("a")}\n\n", "data: {\"choices\":[{\"delta\":\n\n", $"data: {Chunk("b")}\n\n", $"data: {Chunk("", "\"stop\"")}\n\n"));

        var (content, final) = await StreamAsync(client, Gpt);

        Assert.Equal("ab", content);
        Assert.Equal(FinishReason.Stop, final.FinishReason);
    }

    [Fact]
    public async Task StreamAsync_ThreeInvalidJsonEventsInARow_MalformedStream()
    {
        const string bad = "data: {\"choices\":[{\"delta\":\n\n";
        using var client = OpenAi(ScriptedHandler.Sse($"data: {Chunk("a")}\n\n", bad, bad, bad, $"data: {Chunk("", "\"stop\"")}\n\n"));

        var ex = await Assert.ThrowsAsync<ProviderException>(() => StreamAsync(client, Gpt));

        Assert.Equal(ProviderErrorClass.MalformedStream, ex.ErrorClass);
    }

    [Fact]
    public async Task StreamAsync_InvalidEventsNotInARow_Skipped()
    {
        const string bad = "data: {\"choices\":[{\"delta\":\n\n";
        using var client = OpenAi(ScriptedHandler.Sse($"data: {Chunk("a")}\n\n", bad, bad, $"data: {Chunk("b")}\n\n", bad, bad, $"data: {Chunk("", "\"stop\"")}\n\n"));

        var (content, _) = await StreamAsync(client, Gpt);

        Assert.Equal("ab", content);
    }

    [Fact]
    public async Task StreamAsync_EofBeforeFinish_StreamCut()
    {
        using var client = OpenAi(ScriptedHandler.Sse($"data: {Chunk("partial")}\n\n"));

        var ex = await Assert.ThrowsAsync<ProviderException>(() => StreamAsync(client, Gpt));

        Assert.Equal(ProviderErrorClass.StreamCut, ex.ErrorClass);
    }

    [Fact]
    public async Task StreamAsync_DoneWithoutFinishReason_StreamCut()
    {
        using var client = OpenAi(ScriptedHandler.Sse($"data: {Chunk("partial")}\n\n", "data: [DONE]\n\n"));

        var ex = await Assert.ThrowsAsync<ProviderException>(() => StreamAsync(client, Gpt));

        Assert.Equal(ProviderErrorClass.StreamCut, ex.ErrorClass);
    }

    [Fact]
    public async Task StreamAsync_SilentAfterFirstDelta_StalledAfterIdleTimeoutOnFakeTime()
    {
        var time = new FakeTimeProvider();
        var body = new PiecewiseStream([Encoding.UTF8.GetBytes($"data: {Chunk("first")}\n\n")], blockAtEnd: true);
        using var client = OpenAi(new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Response(HttpStatusCode.OK, body, "text/event-stream"))), time);

        var stream = StreamAsync(client, Gpt);
        await body.Blocked.WaitAsync(TimeSpan.FromSeconds(5));
        time.Advance(Settings.StreamIdleTimeout - TimeSpan.FromSeconds(1));
        Assert.False(stream.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAsync<ProviderException>(() => stream.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(ProviderErrorClass.Stalled, ex.ErrorClass);
    }

    [Fact]
    public async Task CompleteAsync_NoHeaders_TimeoutOnFakeTime()
    {
        var time = new FakeTimeProvider();
        var waiting = new TaskCompletionSource();
        using var client = OpenAi(new ScriptedHandler(async (_, ct) =>
        {
            waiting.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        }), time);

        var call = client.CompleteAsync(Request(Gpt), CancellationToken.None);
        await waiting.Task.WaitAsync(TimeSpan.FromSeconds(5));
        time.Advance(Settings.RequestTimeout);

        var ex = await Assert.ThrowsAsync<ProviderException>(() => call.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(ProviderErrorClass.Timeout, ex.ErrorClass);
    }

    [Fact]
    public async Task StreamAsync_AnthropicPingAndUnknownEvents_IgnoredAndErrorEventClassified()
    {
        var wire = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n"
            + "event: ping\ndata: {\"type\": \"ping\"}\n\n"
            + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
            + "event: some_future_event\ndata: {\"type\":\"some_future_event\"}\n\n"
            + "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
        using var client = new AnthropicClient(Settings with { Name = "anthropic" }, TestCatalog.Tokens, TimeProvider.System, NullLogger<AnthropicClient>.Instance, ScriptedHandler.Sse(wire));

        var deltas = new List<string>();
        var ex = await Assert.ThrowsAsync<ProviderException>(async () =>
        {
            await foreach (var item in client.StreamAsync(Request(Claude), CancellationToken.None))
            {
                deltas.Add(item.Delta!);
            }
        });

        Assert.Equal(["Hi"], deltas);
        Assert.Equal(ProviderErrorClass.Overloaded, ex.ErrorClass);
        Assert.Equal("overloaded_error", ex.ProviderCode);
    }

    [Theory]
    [InlineData("rate_limit_error", nameof(ProviderErrorClass.RateLimited))]
    [InlineData("overloaded_error", nameof(ProviderErrorClass.Overloaded))]
    [InlineData("invalid_request_error", nameof(ProviderErrorClass.InvalidRequest))]
    public async Task AnthropicCompleteAsync_ErrorBodyWith200_ClassifiedByItsType(string type, string expected)
    {
        var body = "{\"type\":\"error\",\"error\":{\"type\":\"" + type + "\",\"message\":\"something about " + type + "\"}}";
        using var client = new AnthropicClient(Settings with { Name = "anthropic" }, TestCatalog.Tokens, TimeProvider.System, NullLogger<AnthropicClient>.Instance,
            new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Response(HttpStatusCode.OK, new MemoryStream(Encoding.UTF8.GetBytes(body)), "application/json"))));

        var ex = await Assert.ThrowsAsync<ProviderException>(() => client.CompleteAsync(Request(Claude), CancellationToken.None));

        Assert.Equal(Enum.Parse<ProviderErrorClass>(expected), ex.ErrorClass);
        Assert.Equal(type, ex.ProviderCode);
    }

    [Fact]
    public void ClampMaxTokens_AboveModelLimit_ClampedToLimit()
    {
        Assert.Equal(Claude.MaxOutputTokens, AnthropicClient.ClampMaxTokens(10_000_000, Claude));
        Assert.Equal(4096, AnthropicClient.ClampMaxTokens(0, Claude with { MaxOutputTokens = 0 }));
        Assert.Equal(100, AnthropicClient.ClampMaxTokens(100, Claude));
    }
}
