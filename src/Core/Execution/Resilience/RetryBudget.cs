using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Execution.Resilience;

/// <summary>
/// Process-wide retry budget (as gRPC's retry throttling and Finagle's RetryBudget): over a
/// sliding window, retries may be at most <see cref="ExecutionOptions.RetryBudgetRatio"/> of first
/// attempts plus <see cref="ExecutionOptions.RetryBudgetMinPerWindow"/>. When a provider fails for
/// everyone, retries stop and calls fail over instead of multiplying the load on it.
/// </summary>
internal sealed class RetryBudget(IOptions<ExecutionOptions> options, TimeProvider time)
{
    private readonly ExecutionOptions _options = options.Value;
    private readonly Queue<(long At, bool Retry)> _events = new();
    private readonly Lock _gate = new();
    private int _attempts;
    private int _retries;

    /// <summary>Counts a first attempt (an attempt that is not a retry).</summary>
    public void OnAttempt()
    {
        lock (_gate)
        {
            Trim();
            _events.Enqueue((time.GetTimestamp(), false));
            _attempts++;
        }
    }

    /// <summary>Takes one retry from the budget; false when spent.</summary>
    public bool TryRetry()
    {
        lock (_gate)
        {
            Trim();
            if (_retries >= _options.RetryBudgetMinPerWindow + _options.RetryBudgetRatio * _attempts)
            {
                return false;
            }

            _events.Enqueue((time.GetTimestamp(), true));
            _retries++;
            return true;
        }
    }

    private void Trim()
    {
        var window = TimeSpan.FromSeconds(_options.RetryBudgetWindowSeconds);
        while (_events.TryPeek(out var e) && time.GetElapsedTime(e.At) > window)
        {
            _events.Dequeue();
            if (e.Retry)
            {
                _retries--;
            }
            else
            {
                _attempts--;
            }
        }
    }
}
