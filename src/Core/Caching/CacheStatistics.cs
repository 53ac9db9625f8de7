namespace MonkeyCoder.Core.Caching;

/// <summary>Counters for hits, misses and evictions, also exported as metrics (monkeycoder.cache.lookups).</summary>
internal sealed class CacheStatistics(Observability.MonkeyCoderMetrics? metrics = null)
{
    private long _hits;
    private long _misses;
    private long _evictions;
    private long _shared;

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Requests answered by joining an identical in-flight call.</summary>
    public long Shared => Interlocked.Read(ref _shared);

    public void Hit()
    {
        Interlocked.Increment(ref _hits);
        metrics?.RecordCacheHit();
    }

    public void Miss()
    {
        Interlocked.Increment(ref _misses);
        metrics?.RecordCacheMiss();
    }

    public void Evicted()
    {
        Interlocked.Increment(ref _evictions);
        metrics?.RecordCacheEvent("eviction");
    }

    public void JoinedFlight()
    {
        Interlocked.Increment(ref _shared);
        metrics?.RecordCacheEvent("shared");
    }
}
