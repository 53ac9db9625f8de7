using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Caching;

/// <summary>The cache in process memory for the embedded defaults (one replica), size-bounded.</summary>
internal sealed class MemoryResponseCache : IResponseCache, IDisposable
{
    private readonly MemoryCache _cache;
    private readonly TimeSpan _ttl;
    private readonly CacheStatistics _statistics;

    public MemoryResponseCache(IOptions<CacheOptions> options, CacheStatistics statistics, TimeProvider time)
    {
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.MemoryEntries, Clock = new TimeClock(time) });
        _ttl = TimeSpan.FromSeconds(options.Value.TtlSeconds);
        _statistics = statistics;
    }

    public ValueTask<CachedAnswer?> GetAsync(string key, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_cache.TryGetValue(key, out CachedAnswer? answer) ? answer : null);

    public ValueTask SetAsync(string key, CachedAnswer answer, CancellationToken cancellationToken)
    {
        var entry = new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = _ttl };
        entry.RegisterPostEvictionCallback(static (_, _, reason, state) =>
        {
            if (reason is EvictionReason.Capacity)
            {
                ((CacheStatistics)state!).Evicted();
            }
        }, _statistics);
        _cache.Set(key, answer, entry);
        return ValueTask.CompletedTask;
    }

    public void Dispose() => _cache.Dispose();

#pragma warning disable CS0618 // ISystemClock is what MemoryCacheOptions.Clock takes.
    private sealed class TimeClock(TimeProvider time) : Microsoft.Extensions.Internal.ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
#pragma warning restore CS0618
}
