using Grpc.Core;
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
    public void End_AfterAnAttemptOfOpenAiGpt41_NamesProviderSlashModelOnce(StatusCode status)
    {
        using var capture = new MetricsCapture();
        var logger = new RecordingLogger<TelemetryInterceptor>();
        var interceptor = new TelemetryInterceptor(capture.Metrics, new NullErrorReporter(), logger);
        var model = new CatalogModel { Id = "gpt-4.1", Provider = "openai" };

        var telemetry = TelemetryInterceptor.Begin(null, "Execute");
        // The attempt reaches the call's telemetry the way the executor reports it: through the attempt observer.
        new AttemptMetricsObserver(capture.Metrics).OnAttempt(
            new AttemptRecord(model, status == StatusCode.OK ? "ok" : "server_error", TimeSpan.FromMilliseconds(40), null, new TokenUsage(10, 5)));
        interceptor.End(telemetry, status, TimeSpan.FromMilliseconds(50), trace: null);

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
