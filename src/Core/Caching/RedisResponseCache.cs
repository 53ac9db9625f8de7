using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Caching;

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
