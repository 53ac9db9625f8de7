using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Storage;

/// <summary>
/// Whether Redis answers PING (registered when REDIS_URL is set). A failure reports the
/// registration's failure status: Degraded, because limits, breakers and the cache fall back to
/// this process while Redis is away.
/// </summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return HealthCheckResult.Healthy($"redis reachable ({latency.TotalMilliseconds:0.0} ms)");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "redis unreachable: " + ex.GetType().Name + "; serving through it (limits, breakers and cache in-process)");
        }
    }
}
