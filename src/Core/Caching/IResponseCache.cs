using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Caching;

/// <summary>A finished answer as the cache keeps it.</summary>
internal sealed record CachedAnswer(
    string Content,
    int FinishReason,
    string Provider,
    string Model,
    long InputTokens,
    long OutputTokens,
    DateTimeOffset CreatedAt);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CachedAnswer))]
internal sealed partial class CacheJsonContext : JsonSerializerContext;

/// <summary>The exact response cache. Failures never fail a request: they read as a miss.</summary>
internal interface IResponseCache
{
    ValueTask<CachedAnswer?> GetAsync(string key, CancellationToken cancellationToken);

    ValueTask SetAsync(string key, CachedAnswer answer, CancellationToken cancellationToken);
}

/// <summary>Response cache settings. Section <c>MonkeyCoder:Cache</c>.</summary>
public sealed class CacheOptions
{
    public const string Section = "MonkeyCoder:Cache";

    /// <summary><c>CACHE_ENABLED</c>. Defaults to true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>CACHE_TTL_SECONDS</c>: how long an answer is served from cache. Defaults to 3600 s.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 30 * 24 * 3600, ErrorMessage = "CACHE_TTL_SECONDS (MonkeyCoder:Cache:TtlSeconds) must be between 1 and 2592000.")]
    public int TtlSeconds { get; set; } = 3600;

    /// <summary>In-process cache size (embedded defaults), in answers. Defaults to 10,000.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000_000, ErrorMessage = "MonkeyCoder:Cache:MemoryEntries must be between 1 and 10000000.")]
    public int MemoryEntries { get; set; } = 10_000;

    /// <summary>
    /// <c>CACHE_SHARED_ACROSS_USERS</c>: one user's identical request may be answered from another's
    /// cached answer (cheaper, but a hit tells a caller that someone sent that prompt). Defaults to
    /// false: answers are cached per user.
    /// </summary>
    public bool SharedAcrossUsers { get; set; }
}

[OptionsValidator]
internal sealed partial class CacheOptionsValidator : IValidateOptions<CacheOptions>;

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

/// <summary>
/// The cache in Redis: shared by every replica; TTL by Redis expiry (evictions are Redis's). Reads
/// and writes are timed as <c>monkeycoder.dependency.duration</c> (redis, cache_get / cache_set).
/// </summary>
internal sealed partial class RedisResponseCache(IConnectionMultiplexer redis, IOptions<CacheOptions> options, ILogger<RedisResponseCache> logger,
    Observability.MonkeyCoderMetrics? metrics = null) : IResponseCache
{
    private readonly TimeSpan _ttl = TimeSpan.FromSeconds(options.Value.TtlSeconds);

    public async ValueTask<CachedAnswer?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var call = metrics?.StartDependencyCall("redis", "cache_get");
        try
        {
            var value = await redis.GetDatabase().StringGetAsync(key);
            call?.Complete(true);
            call = null;
            return value.IsNull ? null : JsonSerializer.Deserialize((byte[])value!, CacheJsonContext.Default.CachedAnswer);
        }
        catch (Exception ex) when (ex is RedisException or JsonException or TimeoutException)
        {
            call?.Complete(false);
            Log.Failed(logger, ex, "read");
            return null;
        }
    }

    public async ValueTask SetAsync(string key, CachedAnswer answer, CancellationToken cancellationToken)
    {
        var value = JsonSerializer.SerializeToUtf8Bytes(answer, CacheJsonContext.Default.CachedAnswer);
        var call = metrics?.StartDependencyCall("redis", "cache_set");
        try
        {
            await redis.GetDatabase().StringSetAsync(key, value, _ttl);
            call?.Complete(true);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            call?.Complete(false);
            Log.Failed(logger, ex, "write");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.CacheFailed, Level = LogLevel.Warning, Message = "Response cache {Operation} failed; treating as a miss")]
        public static partial void Failed(ILogger logger, Exception exception, string operation);
    }
}

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
