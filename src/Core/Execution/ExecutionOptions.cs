using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Execution;

/// <summary>
/// Per-attempt limits, retries and circuit breakers. Section <c>MonkeyCoder:Execution</c>. The
/// connect timeout is a transport setting of each provider client
/// (<c>MonkeyCoder:Providers:&lt;name&gt;:ConnectTimeoutSeconds</c>); the first-token timeout here bounds it too.
/// </summary>
public sealed class ExecutionOptions
{
    public const string Section = "MonkeyCoder:Execution";

    /// <summary>
    /// <c>EXECUTION_FIRST_TOKEN_TIMEOUT_MS</c>: from the start of a streaming attempt to its first
    /// content, in ms; a model that stays silent this long fails over at once. A catalog model's
    /// <c>firstTokenTimeoutMs</c> replaces it (reasoning models). Defaults to 15000 ms.
    /// </summary>
    [Range(100, 3_600_000, ErrorMessage = "EXECUTION_FIRST_TOKEN_TIMEOUT_MS (MonkeyCoder:Execution:FirstTokenTimeoutMs) must be between 100 and 3600000.")]
    public int FirstTokenTimeoutMs { get; set; } = 15_000;

    /// <summary>
    /// <c>STREAM_RECOVERY</c>: when an attempt breaks after content reached the caller, continue the
    /// answer on the same model (retryable fault) or the next candidate instead of ending with an
    /// error. Defaults to true.
    /// </summary>
    public bool StreamRecovery { get; set; } = true;

    /// <summary>
    /// <c>STREAM_RECOVERY_MAX_PER_CALL</c>: continuations one call may make; the break after the last
    /// ends the call with an error. Defaults to 2.
    /// </summary>
    [Range(0, 10, ErrorMessage = "STREAM_RECOVERY_MAX_PER_CALL (MonkeyCoder:Execution:MaxRecoveriesPerCall) must be between 0 and 10.")]
    public int MaxRecoveriesPerCall { get; set; } = 2;

    /// <summary>
    /// <c>EXECUTION_STALL_TIMEOUT_MS</c>: longest gap between two events of a stream, in ms.
    /// Defaults to 30000 ms.
    /// </summary>
    [Range(100, 3_600_000, ErrorMessage = "EXECUTION_STALL_TIMEOUT_MS (MonkeyCoder:Execution:StallTimeoutMs) must be between 100 and 3600000.")]
    public int StallTimeoutMs { get; set; } = 30_000;

    /// <summary>
    /// <c>EXECUTION_ATTEMPT_TIMEOUT_MS</c>: longest one attempt may take in all (a unary call, or a
    /// whole stream), in ms. The caller's deadline still wins when shorter. Defaults to 600000 ms.
    /// </summary>
    [Range(100, 3_600_000, ErrorMessage = "EXECUTION_ATTEMPT_TIMEOUT_MS (MonkeyCoder:Execution:AttemptTimeoutMs) must be between 100 and 3600000.")]
    public int AttemptTimeoutMs { get; set; } = 600_000;

    /// <summary>Retries of the same model on a transient failure before failing over. Defaults to 2.</summary>
    [Range(0, 10, ErrorMessage = "MonkeyCoder:Execution:MaxRetriesPerCandidate must be between 0 and 10.")]
    public int MaxRetriesPerCandidate { get; set; } = 2;

    /// <summary>Attempts one execution may make in all, retries and failovers together. Defaults to 8.</summary>
    [Range(1, 100, ErrorMessage = "MonkeyCoder:Execution:MaxAttemptsPerExecution must be between 1 and 100.")]
    public int MaxAttemptsPerExecution { get; set; } = 8;

    /// <summary>First retry delay, doubled per retry, with full jitter, in ms. Defaults to 250 ms.</summary>
    [Range(0, 60_000, ErrorMessage = "MonkeyCoder:Execution:RetryBaseDelayMs must be between 0 and 60000.")]
    public int RetryBaseDelayMs { get; set; } = 250;

    /// <summary>Cap of the exponential backoff, in ms. Defaults to 5000 ms.</summary>
    [Range(0, 600_000, ErrorMessage = "MonkeyCoder:Execution:RetryMaxDelayMs must be between 0 and 600000.")]
    public int RetryMaxDelayMs { get; set; } = 5_000;

    /// <summary>
    /// Longest Retry-After the executor waits out before retrying the same model; a longer hint
    /// fails over instead (and is passed to the caller when nothing else answers). Defaults to 10000 ms.
    /// </summary>
    [Range(0, 600_000, ErrorMessage = "MonkeyCoder:Execution:MaxRetryAfterMs must be between 0 and 600000.")]
    public int MaxRetryAfterMs { get; set; } = 10_000;

    /// <summary>
    /// Retry budget: retries across all executions of this process may be at most this fraction of
    /// first attempts in <see cref="RetryBudgetWindowSeconds"/> (plus <see cref="RetryBudgetMinPerWindow"/>),
    /// so a failing provider is never hammered. Defaults to 0.2.
    /// </summary>
    [Range(0.0, 10.0, ErrorMessage = "MonkeyCoder:Execution:RetryBudgetRatio must be between 0 and 10.")]
    public double RetryBudgetRatio { get; set; } = 0.2;

    /// <summary>Retries always allowed per window, however little traffic. Defaults to 10.</summary>
    [Range(0, 100_000, ErrorMessage = "MonkeyCoder:Execution:RetryBudgetMinPerWindow must be between 0 and 100000.")]
    public int RetryBudgetMinPerWindow { get; set; } = 10;

    /// <summary>Length of the retry budget window, in seconds. Defaults to 10 s.</summary>
    [Range(1, 3600, ErrorMessage = "MonkeyCoder:Execution:RetryBudgetWindowSeconds must be between 1 and 3600.")]
    public int RetryBudgetWindowSeconds { get; set; } = 10;

    /// <summary>Consecutive failures of a provider+model that open its circuit. Defaults to 5.</summary>
    [Range(1, 1000, ErrorMessage = "MonkeyCoder:Execution:BreakerFailureThreshold must be between 1 and 1000.")]
    public int BreakerFailureThreshold { get; set; } = 5;

    /// <summary>How long an open circuit stays open before one probe may go, in ms. Defaults to 30000 ms.</summary>
    [Range(100, 3_600_000, ErrorMessage = "MonkeyCoder:Execution:BreakerBreakMs must be between 100 and 3600000.")]
    public int BreakerBreakMs { get; set; } = 30_000;

    /// <summary>
    /// How long a half-open probe holds the circuit before another caller may probe, in ms (a probe
    /// that never reports back must not keep the circuit shut forever). Defaults to 60000 ms.
    /// </summary>
    [Range(100, 3_600_000, ErrorMessage = "MonkeyCoder:Execution:BreakerProbeLeaseMs must be between 100 and 3600000.")]
    public int BreakerProbeLeaseMs { get; set; } = 60_000;
}

[OptionsValidator]
internal sealed partial class ExecutionOptionsValidator : IValidateOptions<ExecutionOptions>;
