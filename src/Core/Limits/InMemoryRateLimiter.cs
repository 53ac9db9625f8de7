namespace MonkeyCoder.Core.Limits;

/// <summary>The same limits as <see cref="RedisRateLimiter"/> for one process (embedded defaults).</summary>
internal sealed class InMemoryRateLimiter(TimeProvider time) : IRateLimiter
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<long>> _requests = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<long, long>> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _spend = new(StringComparer.Ordinal);

    // "key:…" / "user:…" → open holds (id → amount, lapse time).
    private readonly Dictionary<string, Dictionary<string, (long Micros, DateTimeOffset Until)>> _holds = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);

    public string Kind => "embedded";

    public Task<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var window = (long)LimitMath.Window.TotalMilliseconds;
        var month = LimitMath.Month(now);
        lock (_gate)
        {
            if ((request.KeyBudgetMicros is { } kb && _spend.GetValueOrDefault("key:" + request.KeyId + ":" + month) >= kb)
                || (request.UserBudgetMicros is { } ub && _spend.GetValueOrDefault("user:" + request.UserId + ":" + month) >= ub))
            {
                var untilMonth = LimitMath.UntilNextMonth(now);
                var scope = request.KeyBudgetMicros is { } k && _spend.GetValueOrDefault("key:" + request.KeyId + ":" + month) >= k ? "key" : "user";
                return Task.FromResult(new LimitDecision(LimitVerdict.BudgetExceeded, request.RequestsPerMinute, 0, untilMonth, untilMonth, 0, scope));
            }

            var log = Get(_requests, request.Subject + "\n" + request.Method);
            while (log.Count > 0 && log.Peek() <= nowMs - window)
            {
                log.Dequeue();
            }

            if (log.Count >= request.RequestsPerMinute)
            {
                var retry = TimeSpan.FromMilliseconds(log.Peek() + window - nowMs);
                return Task.FromResult(new LimitDecision(LimitVerdict.RequestsExceeded, request.RequestsPerMinute, 0, retry, retry, 0));
            }

            var bucket = nowMs / window;
            if (request.EstimatedTokens > 0)
            {
                var buckets = Get(_tokens, request.Subject);
                var estimate = Math.Min(request.EstimatedTokens, request.TokensPerMinute);
                var elapsed = nowMs - bucket * window;
                var used = (buckets.GetValueOrDefault(bucket - 1) * (window - elapsed) / (double)window) + buckets.GetValueOrDefault(bucket);
                if (used + estimate > request.TokensPerMinute)
                {
                    var retry = TimeSpan.FromMilliseconds(window - elapsed);
                    return Task.FromResult(new LimitDecision(LimitVerdict.TokensExceeded, request.RequestsPerMinute, request.RequestsPerMinute - log.Count, retry, retry, 0));
                }

                buckets[bucket] = buckets.GetValueOrDefault(bucket) + estimate;
                buckets.Remove(bucket - 2);
            }

            log.Enqueue(nowMs);
            var reset = TimeSpan.FromMilliseconds(log.Peek() + window - nowMs);
            return Task.FromResult(new LimitDecision(LimitVerdict.Admitted, request.RequestsPerMinute, request.RequestsPerMinute - log.Count, TimeSpan.Zero, reset, bucket));
        }
    }

    public Task<SpendTotals> CompleteAsync(LimitRequest request, LimitDecision decision, long actualTokens, double costUsd, CancellationToken cancellationToken,
        SpendReservation? reservation = null)
    {
        var month = LimitMath.Month(time.GetUtcNow());
        var cost = LimitMath.ToMicros(costUsd);
        var totals = SpendTotals.Unknown;
        lock (_gate)
        {
            if (request.EstimatedTokens > 0 && decision.TokenWindow > 0)
            {
                var buckets = Get(_tokens, request.Subject);
                buckets[decision.TokenWindow] = buckets.GetValueOrDefault(decision.TokenWindow) + actualTokens - Math.Min(request.EstimatedTokens, request.TokensPerMinute);
            }

            if (reservation is not null)
            {
                Get(_holds, "key:" + request.KeyId).Remove(reservation.Id);
                Get(_holds, "user:" + request.UserId).Remove(reservation.Id);
            }

            if (cost > 0)
            {
                long keySpent = -1;
                if (request.KeyId is not null)
                {
                    var key = "key:" + request.KeyId + ":" + month;
                    keySpent = _spend[key] = _spend.GetValueOrDefault(key) + cost;
                }

                var user = "user:" + request.UserId + ":" + month;
                totals = new SpendTotals(keySpent, _spend[user] = _spend.GetValueOrDefault(user) + cost);
            }
        }

        return Task.FromResult(totals);
    }

    public Task<SpendReservation> ReserveAsync(LimitRequest request, long micros, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var month = LimitMath.Month(now);
        var hold = new SpendReservation(Guid.NewGuid().ToString("N"), micros, true, null, -1);
        lock (_gate)
        {
            long keyLeft = -1, userLeft = -1;
            if (request.KeyId is not null && request.KeyBudgetMicros is { } kb)
            {
                keyLeft = kb - _spend.GetValueOrDefault("key:" + request.KeyId + ":" + month) - Held("key:" + request.KeyId, now).Micros;
                if (keyLeft < micros)
                {
                    return Task.FromResult(hold with { Admitted = false, Scope = "key", RemainingMicros = keyLeft, KeyRemainingMicros = keyLeft,
                        FirstRefusal = _refused.Add("key:" + request.KeyId + ":" + month) });
                }
            }

            if (request.UserBudgetMicros is { } ub)
            {
                userLeft = ub - _spend.GetValueOrDefault("user:" + request.UserId + ":" + month) - Held("user:" + request.UserId, now).Micros;
                if (userLeft < micros)
                {
                    return Task.FromResult(hold with { Admitted = false, Scope = "user", RemainingMicros = userLeft, KeyRemainingMicros = keyLeft, UserRemainingMicros = userLeft,
                        FirstRefusal = _refused.Add("user:" + request.UserId + ":" + month) });
                }
            }

            if (request.KeyId is not null)
            {
                Get(_holds, "key:" + request.KeyId)[hold.Id] = (micros, now + ttl);
            }

            Get(_holds, "user:" + request.UserId)[hold.Id] = (micros, now + ttl);
            return Task.FromResult(hold with { RemainingMicros = LimitMath.Tighter(keyLeft, userLeft), KeyRemainingMicros = keyLeft, UserRemainingMicros = userLeft });
        }
    }

    public Task<BudgetSnapshot> GetBudgetAsync(LimitRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var month = LimitMath.Month(now);
        lock (_gate)
        {
            BudgetUse? key = null;
            if (request.KeyId is not null)
            {
                var held = Held("key:" + request.KeyId, now);
                key = new BudgetUse(request.KeyBudgetMicros, _spend.GetValueOrDefault("key:" + request.KeyId + ":" + month), held.Micros, held.Count);
            }

            var userHeld = Held("user:" + request.UserId, now);
            return Task.FromResult(new BudgetSnapshot(key, new BudgetUse(request.UserBudgetMicros, _spend.GetValueOrDefault("user:" + request.UserId + ":" + month), userHeld.Micros, userHeld.Count)));
        }
    }

    /// <summary>Open holds of one budget; lapsed ones are dropped. Caller holds the lock.</summary>
    private (long Micros, int Count) Held(string subject, DateTimeOffset now)
    {
        var holds = Get(_holds, subject);
        foreach (var lapsed in holds.Where(h => h.Value.Until <= now).Select(h => h.Key).ToList())
        {
            holds.Remove(lapsed);
        }

        return (holds.Values.Sum(h => h.Micros), holds.Count);
    }

    private static TValue Get<TValue>(Dictionary<string, TValue> map, string key)
        where TValue : new()
    {
        if (!map.TryGetValue(key, out var value))
        {
            value = new TValue();
            map[key] = value;
        }

        return value;
    }
}
