using MonkeyCoder.Core.Execution;

namespace MonkeyCoder.Core.Observability;

/// <summary>Per-provider/model metrics and the request's provider time from each execution attempt.</summary>
internal sealed class AttemptMetricsObserver(MonkeyCoderMetrics metrics) : IAttemptObserver
{
    public void OnAttempt(AttemptRecord attempt)
    {
        var model = attempt.Model;
        metrics.RecordAttempt(model.Provider, model.Id, attempt.Outcome, attempt.Latency, attempt.TimeToFirstToken,
            attempt.Usage.InputTokens, attempt.Usage.OutputTokens, attempt.Succeeded ? model.CostOf(attempt.Usage) : 0);
        // The model id alone: the log line writes "{Provider}/{Model}" (a key here read "openai/openai/gpt-…").
        RequestTelemetry.Current?.RecordAttempt(model.Provider, model.Id, attempt.Latency);
    }
}
