namespace MonkeyCoder.Core.Usage;

/// <summary>A month's billed spend in micro-USD: through one key, and the user's in total.</summary>
internal readonly record struct MonthSpend(long KeyMicros, long UserMicros);

/// <summary>Durable usage: batched writes, aggregate reads, keyset-paged listing, retention.</summary>
internal interface IUsageStore
{
    /// <summary>
    /// True for a store inside this process (the embedded default): its writes complete at once and
    /// a restart loses it anyway, so its events are never spilled to disk or replayed.
    /// </summary>
    bool InProcess => false;

    /// <summary>The database written to, which labels spill files. Not asked of an in-process store.</summary>
    Task<UsageStoreIdentity> GetIdentityAsync(CancellationToken cancellationToken);

    /// <summary>Writes a batch. Idempotent by execution id: a retried batch never double-counts.</summary>
    Task WriteAsync(IReadOnlyList<UsageEvent> batch, CancellationToken cancellationToken);

    Task<UsageReport> GetUsageAsync(UsageQuery query, CancellationToken cancellationToken);

    /// <summary>Newest first; <paramref name="after"/> is the last (created, id) of the previous page.</summary>
    Task<IReadOnlyList<UsageEvent>> ListAsync(string? principalId, (DateTimeOffset CreatedAt, string ExecutionId)? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// What <paramref name="userId"/> was billed (<see cref="UsageEvent.BilledCostUsd"/>, each event rounded to
    /// micro-USD as the limits settle it) in the UTC month starting at <paramref name="monthStart"/>: through
    /// <paramref name="keyId"/> (0 when null) and in total. Rebuilds the shared budgets' spend when Redis lost it.
    /// </summary>
    Task<MonthSpend> MonthSpendAsync(string? keyId, string userId, DateTimeOffset monthStart, CancellationToken cancellationToken);

    /// <summary>Deletes events created before <paramref name="cutoff"/>; returns how many.</summary>
    Task<long> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);
}
