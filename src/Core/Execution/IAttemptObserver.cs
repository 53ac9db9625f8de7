namespace MonkeyCoder.Core.Execution;

/// <summary>
/// Told about every finished provider attempt (success or classified failure), in the caller's
/// async flow. Metrics and per-request telemetry implement it; must be cheap and must not throw.
/// </summary>
internal interface IAttemptObserver
{
    void OnAttempt(AttemptRecord attempt);
}
