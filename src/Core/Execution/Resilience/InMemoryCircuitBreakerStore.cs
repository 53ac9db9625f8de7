using System.Collections.Concurrent;

namespace MonkeyCoder.Core.Execution.Resilience;

/// <summary>Breaker states in this process only (the embedded default without REDIS_URL).</summary>
internal sealed class InMemoryCircuitBreakerStore : ICircuitBreakerStore
{
    private readonly ConcurrentDictionary<string, BreakerState> _states = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    public string Kind => "in-process";

    public ValueTask<IReadOnlyDictionary<string, BreakerState>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, BreakerState>(keys.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var key in keys)
        {
            result[key] = _states.GetValueOrDefault(key);
        }

        return ValueTask.FromResult<IReadOnlyDictionary<string, BreakerState>>(result);
    }

    public ValueTask<bool> TryClaimProbeAsync(string key, long nowMs, long leaseMs, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var s = _states.GetValueOrDefault(key);
            if (s.IsClosed || nowMs < s.OpenUntilMs || s.ProbeUntilMs > nowMs)
            {
                return ValueTask.FromResult(false);
            }

            _states[key] = s with { ProbeUntilMs = nowMs + leaseMs };
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<BreakerState> RecordFailureAsync(string key, long nowMs, int threshold, long breakMs, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var s = _states.GetValueOrDefault(key);
            var failures = s.ConsecutiveFailures + 1;
            var next = s.IsClosed
                ? failures >= threshold ? new BreakerState(failures, nowMs + breakMs, 0) : new BreakerState(failures, 0, 0)
                : nowMs >= s.OpenUntilMs ? new BreakerState(failures, nowMs + breakMs, 0) : s with { ConsecutiveFailures = failures };
            _states[key] = next;
            return ValueTask.FromResult(next);
        }
    }

    public ValueTask<bool> RecordSuccessAsync(string key, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var wasOpen = _states.TryRemove(key, out var s) && !s.IsClosed;
            return ValueTask.FromResult(wasOpen);
        }
    }

    public ValueTask<BreakerState> HoldOpenAsync(string key, long untilMs, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var s = _states.GetValueOrDefault(key);
            var next = s.OpenUntilMs >= untilMs ? s : s with { OpenUntilMs = untilMs, ProbeUntilMs = 0 };
            _states[key] = next;
            return ValueTask.FromResult(next);
        }
    }
}
