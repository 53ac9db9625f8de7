using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Execution.Resilience;

/// <summary>
/// Circuit breaker per provider+model (<see cref="CatalogModel.Key"/>): opens after
/// <see cref="ExecutionOptions.BreakerFailureThreshold"/> consecutive failures the model is
/// responsible for, stays open for <see cref="ExecutionOptions.BreakerBreakMs"/> (callers are served
/// by the next candidate), then lets one probe through; the probe's success closes it, its failure
/// reopens it. A provider that answers 429 or 503 with a Retry-After holds the circuit open for that
/// long at once, on every replica, so no caller sends it anything before the time it asked for.
/// Time comes from the injected <see cref="TimeProvider"/>. A store failure fails open: the breaker
/// is a protection, never a reason to refuse a call. Each state this replica sees or sets is
/// reported as <c>monkeycoder.breaker.state</c> (provider, model).
/// </summary>
internal sealed partial class CircuitBreaker(ICircuitBreakerStore store, TimeProvider time, IOptions<ExecutionOptions> options, ILogger<CircuitBreaker> logger,
    Observability.MonkeyCoderMetrics? metrics = null)
{
    private readonly ExecutionOptions _options = options.Value;

    public string StoreKind => store.Kind;

    /// <summary>True for failures that say something about the model's health (not about the request).</summary>
    public static bool Counts(ProviderErrorClass errorClass) =>
        errorClass is not (ProviderErrorClass.ContextLengthExceeded or ProviderErrorClass.ContentFiltered or ProviderErrorClass.InvalidRequest
            or ProviderErrorClass.PrefillRejected);

    public async ValueTask<BreakerPermit> AcquireAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var state = (await store.GetAsync([key], cancellationToken))[key];
            if (state.IsClosed)
            {
                Report(key, CircuitState.Closed);
                return BreakerPermit.Closed;
            }

            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (now < state.OpenUntilMs)
            {
                Report(key, CircuitState.Open);
                return new BreakerPermit(false, false, TimeSpan.FromMilliseconds(state.OpenUntilMs - now));
            }

            Report(key, CircuitState.HalfOpen);
            if (await store.TryClaimProbeAsync(key, now, _options.BreakerProbeLeaseMs, cancellationToken))
            {
                Log.Probing(logger, key);
                return new BreakerPermit(true, true, TimeSpan.Zero);
            }

            return new BreakerPermit(false, false, TimeSpan.FromMilliseconds(Math.Max(state.ProbeUntilMs - now, 1)));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.StoreUnavailable(logger, ex.GetType().Name);
            return BreakerPermit.Closed;
        }
    }

    /// <summary>
    /// How long a reading of a closed circuit (<see cref="DescribeAsync"/>, taken by the router for its
    /// plan) stands in for the gate of a candidate's first attempt. It bounds the race with another
    /// replica opening the circuit in between, which any read has until the request is sent.
    /// </summary>
    internal static readonly TimeSpan ReadingFreshness = TimeSpan.FromMilliseconds(250);

    /// <summary>The breaker's clock as a timestamp: what a reading is stamped with (<see cref="ReuseClosedReading"/>).</summary>
    public long Timestamp() => time.GetTimestamp();

    /// <summary>
    /// The permit for a circuit the caller read as closed at <paramref name="readAt"/> (a
    /// <see cref="Timestamp"/>; 0 = not read closed), without a second read while that reading is
    /// fresher than <see cref="ReadingFreshness"/>; null when the gate must read the store again.
    /// </summary>
    public BreakerPermit? ReuseClosedReading(string key, long readAt)
    {
        if (readAt == 0 || time.GetElapsedTime(readAt) >= ReadingFreshness)
        {
            return null;
        }

        Report(key, CircuitState.Closed);
        return BreakerPermit.Closed;
    }

    public async ValueTask<IReadOnlyDictionary<string, CircuitStatus>> DescribeAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, BreakerState> states;
        try
        {
            states = await store.GetAsync(keys, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.StoreUnavailable(logger, ex.GetType().Name);
            states = keys.ToDictionary(k => k, _ => default(BreakerState), StringComparer.OrdinalIgnoreCase);
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var result = new Dictionary<string, CircuitStatus>(keys.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, s) in states)
        {
            result[key] = s.IsClosed
                ? new CircuitStatus(CircuitState.Closed, s.ConsecutiveFailures, TimeSpan.Zero)
                : now < s.OpenUntilMs
                    ? new CircuitStatus(CircuitState.Open, s.ConsecutiveFailures, TimeSpan.FromMilliseconds(s.OpenUntilMs - now))
                    : new CircuitStatus(CircuitState.HalfOpen, s.ConsecutiveFailures, TimeSpan.Zero);
        }

        return result;
    }

    public async ValueTask OnSuccessAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            if (await store.RecordSuccessAsync(key, cancellationToken))
            {
                Log.Closed(logger, key);
            }

            Report(key, CircuitState.Closed);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.StoreUnavailable(logger, ex.GetType().Name);
        }
    }

    /// <summary>
    /// Slack taken off a Retry-After hold (50 ms): the executor's own retry waits exactly the
    /// Retry-After on a timer that may fire a millisecond early, and must find the break over.
    /// </summary>
    private const long RetryAfterToleranceMs = 50;

    public ValueTask OnFailureAsync(string key, ProviderErrorClass errorClass, CancellationToken cancellationToken) =>
        OnFailureAsync(key, errorClass, null, cancellationToken);

    /// <summary>
    /// Counts a failure the model is responsible for; <paramref name="retryAfter"/> (the provider's
    /// Retry-After on a 429 or an overload) also keeps the circuit open that long.
    /// </summary>
    public async ValueTask OnFailureAsync(string key, ProviderErrorClass errorClass, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        if (!Counts(errorClass))
        {
            return;
        }

        try
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var state = await store.RecordFailureAsync(key, now, _options.BreakerFailureThreshold, _options.BreakerBreakMs, cancellationToken);
            if (!state.IsClosed && state.OpenUntilMs == now + _options.BreakerBreakMs)
            {
                Log.Opened(logger, key, state.ConsecutiveFailures, _options.BreakerBreakMs);
            }

            var open = !state.IsClosed;
            if (retryAfter is { } wait && errorClass is ProviderErrorClass.RateLimited or ProviderErrorClass.Overloaded or ProviderErrorClass.ServerError
                && (long)wait.TotalMilliseconds > RetryAfterToleranceMs)
            {
                var until = now + (long)wait.TotalMilliseconds - RetryAfterToleranceMs;
                if (state.OpenUntilMs < until)
                {
                    await store.HoldOpenAsync(key, until, cancellationToken);
                    Log.HeldOpen(logger, key, (long)wait.TotalMilliseconds);
                    open = true;
                }
            }

            Report(key, open ? CircuitState.Open : CircuitState.Closed);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.StoreUnavailable(logger, ex.GetType().Name);
        }
    }

    /// <summary>The gauge value of a breaker key "provider/model": 0 closed, 1 half-open, 2 open.</summary>
    private void Report(string key, CircuitState state)
    {
        if (metrics is null)
        {
            return;
        }

        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var (provider, model) = slash > 0 ? (key[..slash], key[(slash + 1)..]) : (key, "");
        metrics.SetBreakerState(provider, model, state switch
        {
            CircuitState.Closed => 0,
            CircuitState.HalfOpen => 1,
            _ => 2,
        });
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.BreakerOpened, Level = LogLevel.Warning,
            Message = "Circuit for {Model} opened after {Failures} consecutive failures; callers go to the next candidate for {BreakMs} ms")]
        public static partial void Opened(ILogger logger, string model, int failures, int breakMs);

        [LoggerMessage(EventId = Observability.EventIds.BreakerProbing, Level = LogLevel.Information,
            Message = "Circuit for {Model} is half-open; sending one probe")]
        public static partial void Probing(ILogger logger, string model);

        [LoggerMessage(EventId = Observability.EventIds.BreakerClosed, Level = LogLevel.Information,
            Message = "Circuit for {Model} closed after a success")]
        public static partial void Closed(ILogger logger, string model);

        [LoggerMessage(EventId = Observability.EventIds.BreakerHeldOpen, Level = LogLevel.Information,
            Message = "Circuit for {Model} held open for {RetryAfterMs} ms: the provider asked to wait (Retry-After)")]
        public static partial void HeldOpen(ILogger logger, string model, long retryAfterMs);

        [LoggerMessage(EventId = Observability.EventIds.BreakerStoreUnavailable, Level = LogLevel.Warning,
            Message = "Circuit breaker store unavailable ({ErrorType}); letting the call through")]
        public static partial void StoreUnavailable(ILogger logger, string errorType);
    }
}
