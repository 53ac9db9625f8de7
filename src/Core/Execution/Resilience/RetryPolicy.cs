using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing.Learning;

namespace MonkeyCoder.Core.Execution.Resilience;

/// <summary>What to do after a failed attempt.</summary>
internal enum FailureAction
{
    /// <summary>Try the same model again after <see cref="RetryDecision.Delay"/>.</summary>
    Retry,
    /// <summary>Move on to the next candidate.</summary>
    FailOver,
    /// <summary>Stop: the failure reaches the caller as it is.</summary>
    Stop,
}

internal readonly record struct RetryDecision(FailureAction Action, TimeSpan Delay, string Why);

/// <summary>
/// Decides per failure class: a silent upstream (no headers, no first token) fails over at once;
/// transient failures (429, 5xx/overloaded, timeouts, resets, broken
/// streams before any content) retry the same model with exponential backoff and full jitter,
/// waiting at least the provider's Retry-After; a Retry-After longer than
/// <see cref="ExecutionOptions.MaxRetryAfterMs"/>, spent retries or an empty retry budget fail over
/// instead. Context length exceeded, authentication and rejected requests fail over at once (the
/// executor then only tries larger windows for the first). Content filtered stops: another model
/// would not make the request acceptable, and the caller must see the provider's reason.
/// </summary>
internal sealed class RetryPolicy(IOptions<ExecutionOptions> options, RetryBudget budget, BanditRandom random)
{
    private readonly ExecutionOptions _options = options.Value;

    /// <summary>
    /// Decides after <paramref name="failure"/>, given <paramref name="retriesSoFar"/> retries already made on
    /// this candidate and the time <paramref name="remaining"/> before the caller's deadline (null when none).
    /// </summary>
    public RetryDecision Decide(ProviderException failure, int retriesSoFar, TimeSpan? remaining)
    {
        switch (failure.ErrorClass)
        {
            case ProviderErrorClass.ContentFiltered:
                return new(FailureAction.Stop, TimeSpan.Zero, "content filtered: no retry, no failover");
            case ProviderErrorClass.ContextLengthExceeded:
                return new(FailureAction.FailOver, TimeSpan.Zero, "context length exceeded: only larger windows");
            case ProviderErrorClass.InvalidRequest:
                return new(FailureAction.FailOver, TimeSpan.Zero, "request rejected by this provider");
            case ProviderErrorClass.PrefillRejected:
                return new(FailureAction.FailOver, TimeSpan.Zero, "assistant prefill rejected by this model");
            case ProviderErrorClass.Authentication:
                return new(FailureAction.FailOver, TimeSpan.Zero, "provider credentials rejected");
        }

        if (failure.Silent)
        {
            // No headers or no first token: the same model is likely to stay silent, and each wait costs a whole timeout.
            return new(FailureAction.FailOver, TimeSpan.Zero, "silent upstream: next candidate at once");
        }

        if (!failure.IsTransient)
        {
            return new(FailureAction.FailOver, TimeSpan.Zero, "not retryable");
        }

        if (retriesSoFar >= _options.MaxRetriesPerCandidate)
        {
            return new(FailureAction.FailOver, TimeSpan.Zero, "retries spent");
        }

        if (failure.RetryAfter is { } hint && hint > TimeSpan.FromMilliseconds(_options.MaxRetryAfterMs))
        {
            return new(FailureAction.FailOver, TimeSpan.Zero, "Retry-After longer than the executor waits");
        }

        var delay = Backoff(retriesSoFar);
        if (failure.RetryAfter is { } retryAfter && retryAfter > delay)
        {
            delay = retryAfter;
        }

        if (remaining is { } left && delay >= left)
        {
            return new(FailureAction.FailOver, TimeSpan.Zero, "no time left to wait before the deadline");
        }

        if (!budget.TryRetry())
        {
            return new(FailureAction.FailOver, TimeSpan.Zero, "retry budget spent (too many retries in the window)");
        }

        return new(FailureAction.Retry, delay, failure.RetryAfter is null ? "transient: backoff" : "transient: honouring Retry-After");
    }

    /// <summary>Full jitter: uniform in [0, min(max, base·2^retry)] (AWS architecture blog, "Exponential Backoff And Jitter").</summary>
    public TimeSpan Backoff(int retry)
    {
        var cap = Math.Min(_options.RetryMaxDelayMs, _options.RetryBaseDelayMs * Math.Pow(2, retry));
        return TimeSpan.FromMilliseconds(cap * random.NextDouble());
    }
}
