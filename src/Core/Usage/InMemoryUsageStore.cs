namespace MonkeyCoder.Core.Usage;

/// <summary>
/// Usage for the embedded defaults (no DATABASE_URL): one process, kept in memory, lost on restart.
/// Bounded at <see cref="MaxEvents"/>, sized for a laptop; the oldest events go first, as retention
/// would purge them. Never spills to disk: a restart loses it anyway.
/// </summary>
internal sealed class InMemoryUsageStore : IUsageStore
{
    /// <summary>Events kept at most: 50,000 (≈ 25–50 MB with their attempts).</summary>
    public const int MaxEvents = 50_000;

    public bool InProcess => true;

    public Task<UsageStoreIdentity> GetIdentityAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException("The in-process usage store has no database identity: it never spills.");

    private readonly Lock _gate = new();
    private readonly Dictionary<string, UsageEvent> _byId = new(StringComparer.Ordinal);
    private readonly LinkedList<UsageEvent> _ordered = new();

    public Task WriteAsync(IReadOnlyList<UsageEvent> batch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var e in batch)
            {
                if (_byId.TryAdd(e.ExecutionId, e))
                {
                    _ordered.AddLast(e);
                    if (_ordered.Count > MaxEvents)
                    {
                        _byId.Remove(_ordered.First!.Value.ExecutionId);
                        _ordered.RemoveFirst();
                    }
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<UsageReport> GetUsageAsync(UsageQuery query, CancellationToken cancellationToken)
    {
        List<UsageEvent> events;
        lock (_gate)
        {
            events = _ordered.Where(e => e.CreatedAt >= query.Start && e.CreatedAt < query.End
                && (query.PrincipalId is null || e.PrincipalId == query.PrincipalId)).ToList();
        }

        return Task.FromResult(UsageAggregation.Report(events, query.Hourly));
    }

    public Task<IReadOnlyList<UsageEvent>> ListAsync(string? principalId, (DateTimeOffset CreatedAt, string ExecutionId)? after, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IEnumerable<UsageEvent> query = _ordered.Where(e => principalId is null || e.PrincipalId == principalId)
                .OrderByDescending(e => e.CreatedAt).ThenByDescending(e => e.ExecutionId, StringComparer.Ordinal);
            if (after is { } cursor)
            {
                query = query.Where(e => e.CreatedAt < cursor.CreatedAt
                    || (e.CreatedAt == cursor.CreatedAt && string.CompareOrdinal(e.ExecutionId, cursor.ExecutionId) < 0));
            }

            return Task.FromResult<IReadOnlyList<UsageEvent>>(query.Take(limit).ToList());
        }
    }

    public Task<MonthSpend> MonthSpendAsync(string? keyId, string userId, DateTimeOffset monthStart, CancellationToken cancellationToken)
    {
        var end = monthStart.AddMonths(1);
        long key = 0, user = 0;
        lock (_gate)
        {
            foreach (var e in _ordered)
            {
                if (e.PrincipalId == userId && e.CreatedAt >= monthStart && e.CreatedAt < end)
                {
                    var micros = (long)Math.Round(e.BilledCostUsd * 1_000_000, MidpointRounding.AwayFromZero);
                    user += micros;
                    if (keyId is not null && e.ApiKeyId == keyId)
                    {
                        key += micros;
                    }
                }
            }
        }

        return Task.FromResult(new MonthSpend(key, user));
    }

    public Task<long> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        long removed = 0;
        lock (_gate)
        {
            var node = _ordered.First;
            while (node is not null)
            {
                var next = node.Next;
                if (node.Value.CreatedAt < cutoff)
                {
                    _byId.Remove(node.Value.ExecutionId);
                    _ordered.Remove(node);
                    removed++;
                }

                node = next;
            }
        }

        return Task.FromResult(removed);
    }
}

/// <summary>Aggregation over events in memory; the same definitions as the SQL in PostgresUsageStore.</summary>
internal static class UsageAggregation
{
    public static UsageReport Report(IReadOnlyList<UsageEvent> events, bool hourly) => new(
        Aggregate(events),
        events.GroupBy(e => Truncate(e.CreatedAt, hourly)).OrderBy(g => g.Key).Select(g => (g.Key, Aggregate(g.ToList()))).ToList(),
        events.Where(e => e.Provider.Length > 0).GroupBy(e => e.Provider).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, Aggregate(g.ToList()))).ToList(),
        events.Where(e => e.Provider.Length > 0).GroupBy(e => $"{e.Provider}/{e.Model}").OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, Aggregate(g.ToList()))).ToList(),
        events.GroupBy(e => e.TaskType).OrderBy(g => g.Key).Select(g => (g.Key, Aggregate(g.ToList()))).ToList());

    public static UsageAggregate Aggregate(IReadOnlyList<UsageEvent> events)
    {
        if (events.Count == 0)
        {
            return UsageAggregate.Empty;
        }

        var latencies = events.Select(e => e.LatencyMs).Order().ToArray();
        return new UsageAggregate(
            events.Count,
            events.Count(e => e.Status == (int)V1.ExecutionStatus.Completed),
            events.Count(e => e.Status == (int)V1.ExecutionStatus.Failed),
            events.Count(e => e.CacheHit),
            events.Sum(e => e.InputTokens),
            events.Sum(e => e.OutputTokens),
            events.Sum(e => e.CostUsd),
            Percentile(latencies, 0.5),
            Percentile(latencies, 0.95))
        {
            Billed = new BilledUsage(events.Sum(e => e.BilledInputTokens), events.Sum(e => e.BilledOutputTokens), events.Sum(e => e.BilledCostUsd)),
        };
    }

    /// <summary>Linear interpolation between ranks, as PostgreSQL's percentile_cont.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 1)
        {
            return sorted[0];
        }

        var rank = p * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    public static DateTimeOffset Truncate(DateTimeOffset t, bool hourly)
    {
        var utc = t.ToUniversalTime();
        return hourly
            ? new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero)
            : new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
    }
}
