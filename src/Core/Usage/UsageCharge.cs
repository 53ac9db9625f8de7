using Grpc.Core;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// What one call's executions recorded as usage (tokens, and cost), for the limits' settlement:
/// the rate limiter attaches one to the call, the executor adds each usage event it records to it,
/// so token windows and budgets see exactly what usage bills, failed and cancelled attempts
/// included, and a caller that joined another's flight adds only what its own event records.
/// </summary>
public sealed class UsageCharge
{
    private const string Key = "monkeycoder.usage-charge";

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

    public void Add(UsageEvent usage)
    {
        lock (_gate)
        {
            _tokens += usage.InputTokens + usage.OutputTokens;
            _costUsd += usage.CostUsd;
        }
    }

    /// <summary>Starts the charge of an admitted call.</summary>
    public static UsageCharge Attach(ServerCallContext context)
    {
        var charge = new UsageCharge();
        context.UserState[Key] = charge;
        return charge;
    }

    /// <summary>The call's charge, or null when nothing settles it (limits off, anonymous call).</summary>
    public static UsageCharge? Of(ServerCallContext context) =>
        context.UserState.TryGetValue(Key, out var value) ? value as UsageCharge : null;
}
