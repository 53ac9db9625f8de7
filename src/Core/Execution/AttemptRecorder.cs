using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing.Learning;

namespace MonkeyCoder.Core.Execution;

/// <summary>
/// Where every attempt's outcome goes: the execution's attempt list, passive provider health, the
/// model's circuit breaker and the router's learned statistics (latency, time to first token,
/// error class, cost). Mid-stream failures and cancelled quantum losers come through here too.
/// </summary>
internal sealed class AttemptRecorder(ProviderHealthMonitor health, CircuitBreaker breaker, IRouterStatsStore stats, RewardModel rewards,
    IEnumerable<IAttemptObserver>? observers = null)
{
    private readonly IAttemptObserver[] _observers = observers?.ToArray() ?? [];

    private void Observe(AttemptRecord attempt)
    {
        foreach (var observer in _observers)
        {
            observer.OnAttempt(attempt);
        }
    }

    public async ValueTask SucceededAsync(ExecutionScope scope, AttemptRecord attempt)
    {
        scope.Add(attempt);
        Observe(attempt);
        var model = attempt.Model;
        health.RecordSuccess(model.Provider);
        // The breaker and the learning statistics are independent keys, and nothing in this call's
        // answer reads either: both are sent now and awaited by the call's settlement step.
        var closed = Calls.CallContext.AfterAnswer(breaker.OnSuccessAsync(model.Key, CancellationToken.None));
        var observation = new AttemptObservation(true, "ok", attempt.Latency.TotalMilliseconds, attempt.TimeToFirstToken?.TotalMilliseconds, model.CostOf(attempt.Usage));
        try
        {
            await Calls.CallContext.AfterAnswer(stats.UpdateForTaskAsync(model.Key, LearningKeys.TaskClass(scope.Plan.Analysis), rewards.ForAttempt(observation, null), CancellationToken.None));
        }
        finally
        {
            await closed;
        }
    }

    public async ValueTask<AttemptRecord> FailedAsync(ExecutionScope scope, CatalogModel model, ProviderException failure, TimeSpan latency, TimeSpan? timeToFirstToken, TokenUsage usage, long deliveredTokens = 0)
    {
        var attempt = new AttemptRecord(model, failure.ClassName, latency, timeToFirstToken, usage,
            failure.ProviderCode is null ? failure.Message : $"{failure.ProviderCode}: {failure.Message}", deliveredTokens);
        scope.Add(attempt);
        Observe(attempt);
        scope.Failed(model, failure);
        if (CircuitBreaker.Counts(failure.ErrorClass))
        {
            health.RecordFailure(model.Provider, failure.ClassName);
        }

        await breaker.OnFailureAsync(model.Key, failure.ErrorClass, failure.RetryAfter, CancellationToken.None);
        var observation = new AttemptObservation(false, failure.ClassName, latency.TotalMilliseconds, null, model.CostOf(usage));
        await stats.UpdateForTaskAsync(model.Key, LearningKeys.TaskClass(scope.Plan.Analysis), rewards.ForAttempt(observation, failure.ErrorClass), CancellationToken.None);
        return attempt;
    }

    /// <summary>
    /// An attempt stopped by us (a quantum loser) or by the caller. Recorded with the usage it had
    /// consumed (estimated), never fed to health, breaker or statistics: it says nothing about the model.
    /// </summary>
    public void Cancelled(ExecutionScope scope, CatalogModel model, TimeSpan latency, TimeSpan? timeToFirstToken, TokenUsage usage, long deliveredTokens = 0)
    {
        var attempt = new AttemptRecord(model, AttemptOutcomes.Cancelled, latency, timeToFirstToken, usage, DeliveredTokens: deliveredTokens);
        scope.Add(attempt);
        Observe(attempt);
    }
}

/// <summary>Attempt outcomes besides the error classes.</summary>
internal static class AttemptOutcomes
{
    public const string Ok = "ok";

    /// <summary>Completed, but another variant's answer won the collapse (quantum).</summary>
    public const string Discarded = "discarded";

    /// <summary>Stopped before it finished: a losing variant, or the caller went away.</summary>
    public const string Cancelled = "cancelled";
}
