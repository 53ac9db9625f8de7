using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Execution;

/// <summary>
/// The state of one execution shared by its attempts (several at once under quantum): every
/// attempt made, the attempt count against <see cref="ExecutionOptions.MaxAttemptsPerExecution"/>,
/// the models a failure ruled out, and the last classified failure.
/// </summary>
internal sealed class ExecutionScope(RoutePlan plan, string executionId, long startedTimestamp, DateTimeOffset? deadline)
{
    private readonly Lock _gate = new();
    private readonly List<AttemptRecord> _attempts = [];
    private readonly HashSet<string> _ruledOut = new(StringComparer.OrdinalIgnoreCase);
    private int _attemptCount;
    private int _contextExceededWindow;
    private ProviderException? _lastFailure;
    private ProviderException? _circuitOpen;

    public RoutePlan Plan => plan;

    public string ExecutionId => executionId;

    public long StartedTimestamp => startedTimestamp;

    /// <summary>The caller's deadline, when it set one.</summary>
    public DateTimeOffset? Deadline => deadline;

    public IReadOnlyList<AttemptRecord> Attempts
    {
        get
        {
            lock (_gate)
            {
                return _attempts.ToArray();
            }
        }
    }

    /// <summary>
    /// Optional cost ceiling of the call in US dollars (null: none). Mid-stream recovery starts a
    /// continuation only while <see cref="SpentUsd"/> plus the continuation's worst case fits it
    /// (<see cref="Affords"/>); meant to be the call's budget reservation.
    /// </summary>
    public double? CostCeilingUsd { get; set; }

    /// <summary>Cost so far of every attempt of the call, at each model's catalog prices.</summary>
    public double SpentUsd => Attempts.Sum(a => a.Model.CostOf(a.Usage));

    /// <summary>True when <paramref name="moreUsd"/> on top of <see cref="SpentUsd"/> stays within <see cref="CostCeilingUsd"/> (always without one).</summary>
    public bool Affords(double moreUsd) => CostCeilingUsd is not { } ceiling || SpentUsd + moreUsd <= ceiling;

    /// <summary>Reserves one attempt; false once the execution's attempt limit is reached.</summary>
    public bool TryStartAttempt(int limit) => Interlocked.Increment(ref _attemptCount) <= limit;

    public void Add(AttemptRecord attempt)
    {
        lock (_gate)
        {
            _attempts.Add(attempt);
        }
    }

    /// <summary>Replaces a recorded attempt (quantum marks losers "discarded").</summary>
    public void Replace(AttemptRecord old, AttemptRecord updated)
    {
        lock (_gate)
        {
            var i = _attempts.IndexOf(old);
            if (i >= 0)
            {
                _attempts[i] = updated;
            }
        }
    }

    public void Failed(CatalogModel model, ProviderException failure)
    {
        lock (_gate)
        {
            _lastFailure = failure;
            if (failure.ErrorClass == ProviderErrorClass.ContextLengthExceeded)
            {
                // Never the same model again, and only models with a larger window.
                _ruledOut.Add(model.Key);
                _contextExceededWindow = Math.Max(_contextExceededWindow, model.ContextWindow);
            }
        }
    }

    public void CircuitOpen(ProviderException failure)
    {
        lock (_gate)
        {
            if (_circuitOpen?.RetryAfter is not { } current || failure.RetryAfter < current)
            {
                _circuitOpen = failure;
            }
        }
    }

    /// <summary>True when an earlier failure rules this model out.</summary>
    public bool IsRuledOut(CatalogModel model)
    {
        lock (_gate)
        {
            return _ruledOut.Contains(model.Key) || (_contextExceededWindow > 0 && model.ContextWindow <= _contextExceededWindow);
        }
    }

    /// <summary>What the caller sees when nothing answered: the last real failure, else why nothing could be tried.</summary>
    public ProviderException FinalFailure()
    {
        lock (_gate)
        {
            return _lastFailure ?? _circuitOpen
                ?? new ProviderException("none", ProviderErrorClass.Unknown, "No candidate could be tried.");
        }
    }

    /// <summary>Candidates in plan order that no failure has ruled out.</summary>
    public IEnumerable<RouteCandidate> Eligible()
    {
        foreach (var candidate in plan.Candidates)
        {
            if (!IsRuledOut(candidate.Model))
            {
                yield return candidate;
            }
        }
    }
}
