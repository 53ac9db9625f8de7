namespace MonkeyCoder.Core.Limits;

/// <summary>
/// Budgets while the shared limiter (Redis) is unreachable. Each replica may then hold and spend
/// only its share of what was left: the remaining amount of each key and user budget at this
/// replica's last successful hold, divided by the live replicas it knew of (<see cref="Replicas"/>,
/// from <see cref="ReplicaCensus"/>). A budget this replica never synced has no share: its spend is
/// refused (retryable) until Redis answers. What was spent meanwhile is kept and added to the shared
/// spend when Redis returns (<see cref="TakeUnsynced"/>), so the shares reconcile.
/// </summary>
internal sealed class OutageBudget
{
    private readonly Lock _gate = new();

    // "key:…" / "user:…" → remaining micro-USD after the last hold Redis granted.
    private readonly Dictionary<string, long> _remaining = new(StringComparer.Ordinal);

    // Holds and spend made during the current outage, per budget.
    private readonly Dictionary<string, long> _used = new(StringComparer.Ordinal);
    private List<Unsynced> _unsynced = [];

    /// <summary>Live replicas at the last census (1 without one).</summary>
    public int Replicas { get; set; } = 1;

    /// <summary>Remembers what Redis said was left when it granted <paramref name="hold"/>.</summary>
    public void Synced(LimitRequest request, SpendReservation hold)
    {
        lock (_gate)
        {
            if (request.KeyId is not null && hold.KeyRemainingMicros >= 0)
            {
                _remaining["key:" + request.KeyId] = hold.KeyRemainingMicros - hold.Micros;
            }

            if (hold.UserRemainingMicros >= 0)
            {
                _remaining["user:" + request.UserId] = hold.UserRemainingMicros - hold.Micros;
            }
        }
    }

    /// <summary>A hold against this replica's share; refused (Admitted false) beyond it.</summary>
    public SpendReservation Reserve(LimitRequest request, long micros)
    {
        var hold = new SpendReservation(Guid.NewGuid().ToString("N"), micros, true, null, -1) { Fallback = true };
        lock (_gate)
        {
            var budgets = Budgets(request).ToList();
            foreach (var (subject, scope) in budgets)
            {
                var share = _remaining.TryGetValue(subject, out var left) ? Math.Max(0, left) / Math.Max(1, Replicas) : 0;
                var free = share - _used.GetValueOrDefault(subject);
                if (free < micros)
                {
                    return hold with { Admitted = false, Scope = scope, RemainingMicros = Math.Max(0, free) };
                }
            }

            foreach (var (subject, _) in budgets)
            {
                _used[subject] = _used.GetValueOrDefault(subject) + micros;
            }

            return hold;
        }
    }

    /// <summary>Settles a call while Redis is unreachable: its cost replaces its outage hold and waits for Redis.</summary>
    public void Settle(LimitRequest request, SpendReservation? hold, long costMicros)
    {
        lock (_gate)
        {
            if (hold is { Fallback: true })
            {
                foreach (var (subject, _) in Budgets(request))
                {
                    _used[subject] = _used.GetValueOrDefault(subject) + costMicros - hold.Micros;
                }
            }

            if (costMicros > 0 || hold is { Fallback: false })
            {
                _unsynced.Add(new Unsynced(request, hold is { Fallback: false } ? hold : null, costMicros));
            }
        }
    }

    /// <summary>Spend (and Redis holds) to hand to Redis now that it answers; the outage shares start over.</summary>
    public IReadOnlyList<Unsynced> TakeUnsynced()
    {
        lock (_gate)
        {
            var taken = _unsynced;
            _unsynced = [];
            _used.Clear();
            return taken;
        }
    }

    /// <summary>Puts back what could not be handed over (Redis failed again).</summary>
    public void Return(IEnumerable<Unsynced> items)
    {
        lock (_gate)
        {
            _unsynced.AddRange(items);
        }
    }

    private static IEnumerable<(string Subject, string Scope)> Budgets(LimitRequest request)
    {
        if (request.KeyId is not null && request.KeyBudgetMicros is not null)
        {
            yield return ("key:" + request.KeyId, "key");
        }

        if (request.UserBudgetMicros is not null)
        {
            yield return ("user:" + request.UserId, "user");
        }
    }

    /// <summary>Spend made while Redis was unreachable, and the Redis hold it settles (null for an outage hold).</summary>
    public sealed record Unsynced(LimitRequest Request, SpendReservation? Hold, long CostMicros);
}
