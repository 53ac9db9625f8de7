namespace MonkeyCoder.Core.Execution.Resilience;

/// <summary>
/// What a breaker store holds for one provider+model: consecutive failures, when the open period
/// ends (Unix ms; 0 = closed) and until when a half-open probe holds the circuit (Unix ms; 0 = none).
/// </summary>
internal readonly record struct BreakerState(int ConsecutiveFailures, long OpenUntilMs, long ProbeUntilMs)
{
    public bool IsClosed => OpenUntilMs == 0;
}

/// <summary>
/// Storage of breaker states with atomic transitions. <see cref="InMemoryCircuitBreakerStore"/> for
/// one process; <see cref="RedisCircuitBreakerStore"/> to share them across replicas.
/// </summary>
internal interface ICircuitBreakerStore
{
    /// <summary>"redis" or "in-process".</summary>
    string Kind { get; }

    ValueTask<IReadOnlyDictionary<string, BreakerState>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>Atomically: if the circuit is open, its break is over and no probe holds it, the caller becomes the probe until now + lease.</summary>
    ValueTask<bool> TryClaimProbeAsync(string key, long nowMs, long leaseMs, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically counts a failure: a closed circuit opens at <paramref name="threshold"/> consecutive
    /// failures; a half-open one (break over) reopens at once. Returns the new state.
    /// </summary>
    ValueTask<BreakerState> RecordFailureAsync(string key, long nowMs, int threshold, long breakMs, CancellationToken cancellationToken);

    /// <summary>Closes the circuit and clears its count. Returns true when it was not closed.</summary>
    ValueTask<bool> RecordSuccessAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically keeps the circuit open until at least <paramref name="untilMs"/> (Unix ms), without
    /// touching the failure count; a later end already set wins. Returns the new state.
    /// </summary>
    ValueTask<BreakerState> HoldOpenAsync(string key, long untilMs, CancellationToken cancellationToken);
}
