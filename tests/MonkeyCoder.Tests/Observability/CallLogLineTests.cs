using Grpc.Core;
using MonkeyCoder.Core.Calls;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Tests.Infrastructure;

namespace MonkeyCoder.Tests.Observability;

/// <summary>The one log line per call names the answering model as "provider/model", the provider once.</summary>
public sealed class CallLogLineTests
{
    [Theory]
    [InlineData(StatusCode.OK)]
    [InlineData(StatusCode.Unavailable)]
    public async Task RunAsync_AfterAnAttemptOfOpenAiGpt41_NamesProviderSlashModelOnce(StatusCode status)
    {
        using var capture = new MetricsCapture();
        var logger = new RecordingLogger<TelemetryStep>();
        var step = new TelemetryStep(capture.Metrics, new NullErrorReporter(), logger);
        var model = new CatalogModel { Id = "gpt-4.1", Provider = "openai" };

        var call = TestCallEdge.Call("/monkeycoder.v1.RouterService/Execute");
        // The attempt reaches the call's telemetry the way the executor reports it: through the attempt observer.
        var run = TestCallEdge.RunAsync(call, _ =>
        {
            new AttemptMetricsObserver(capture.Metrics).OnAttempt(
                new AttemptRecord(model, status == StatusCode.OK ? "ok" : "server_error", TimeSpan.FromMilliseconds(40), null, new TokenUsage(10, 5)));
            return status == StatusCode.OK ? ValueTask.CompletedTask : throw new RpcException(new Status(status, "down"));
        }, step).AsTask();
        if (status == StatusCode.OK)
        {
            await run;
        }
        else
        {
            Assert.Equal(status, (await Assert.ThrowsAsync<RpcException>(() => run)).StatusCode);
        }

        var line = Assert.Single(logger.Entries, e => e.EventId == EventIds.RequestCompleted).Message;
        Assert.Contains(" via openai/gpt-4.1 in ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("openai/openai", line, StringComparison.Ordinal);
        Assert.Equal(1, CountOf(line, "openai"));
    }

    private static int CountOf(string text, string word)
    {
        var count = 0;
        for (var at = text.IndexOf(word, StringComparison.Ordinal); at >= 0; at = text.IndexOf(word, at + word.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
