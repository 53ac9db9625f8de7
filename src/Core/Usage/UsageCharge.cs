
namespace MonkeyCoder.Core.Usage;

/// <summary>
/// What one call's executions were billed (tokens, and cost: <see cref="UsageEvent.Billed"/>), for
/// the limits' settlement: the rate limiter attaches one to the call, the executor adds each usage
/// event it records to it, so token windows and budgets see exactly what the providers charged —
/// failed attempts before a fail-over, cancelled streams and quantum losers included — and a caller
/// that joined another's flight adds only what its own event records (nothing).
/// </summary>
internal sealed class UsageCharge
{
    private readonly Lock _gate = new();
    private long _tokens;
    private double _costUsd;

    public long Tokens
    {
        get
        {
            lock (_gate)
            {
                return _tokens;
            }
        }
    }

    public double CostUsd
    {
        get
        {
            lock (_gate)
            {
                return _costUsd;
            }
        }
    }

    /// <summary>The budget hold of this call, when a budget applies (set by the limits at admission).</summary>
    public IBudgetHold? Budget { get; set; }

    /// <summary>
    /// The most this call may cost: its budget hold, once taken (null without a budget). Mid-stream
    /// recovery starts a continuation only while the call's attempts so far plus the continuation's
    /// worst case fit it (<see cref="Execution.ExecutionScope.CostCeilingUsd"/>).
    /// </summary>
    public double? CostCeilingUsd => Budget?.HeldUsd;

    /// <summary>Holds the plan's worst-case cost before it runs; no-op when no budget applies.</summary>
    public ValueTask ReserveAsync(Routing.RoutePlan plan, CancellationToken cancellationToken) =>
        Budget?.ReserveAsync(plan, cancellationToken) ?? ValueTask.CompletedTask;

    /// <summary>Adds an execution's billed total (every attempt that consumed provider tokens) to the call's charge.</summary>
    public void Add(UsageEvent usage)
    {
        lock (_gate)
        {
            _tokens += usage.Billed.TotalTokens;
            _costUsd += usage.Billed.CostUsd;
        }
    }
}
