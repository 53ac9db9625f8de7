using StackExchange.Redis;

namespace MonkeyCoder.Core.Execution.Resilience;

/// <summary>
/// Breaker states in Redis, shared by every replica: one hash per provider+model
/// (<c>monkeycoder:breaker:{provider/id}</c>, fields f = consecutive failures, o = open until,
/// p = probe until, Unix ms). Transitions run as Lua scripts, so replicas never race. Replicas'
/// clocks are assumed to agree within a fraction of the break period.
/// </summary>
internal sealed class RedisCircuitBreakerStore(IConnectionMultiplexer redis) : ICircuitBreakerStore
{
    public const string Prefix = "monkeycoder:breaker:";

    /// <summary>A circuit nobody touched for a day is forgotten (closed).</summary>
    private const long TtlSeconds = 86_400;

    private const string ClaimProbeScript = """
        local v = redis.call('HMGET', KEYS[1], 'o', 'p')
        local o = tonumber(v[1]) or 0
        local p = tonumber(v[2]) or 0
        local now = tonumber(ARGV[1])
        if o == 0 or now < o or p > now then return 0 end
        redis.call('HSET', KEYS[1], 'p', now + tonumber(ARGV[2]))
        return 1
        """;

    private const string FailureScript = """
        local v = redis.call('HMGET', KEYS[1], 'f', 'o', 'p')
        local f = (tonumber(v[1]) or 0) + 1
        local o = tonumber(v[2]) or 0
        local p = tonumber(v[3]) or 0
        local now = tonumber(ARGV[1])
        local threshold = tonumber(ARGV[2])
        local brk = tonumber(ARGV[3])
        if o == 0 then
          if f >= threshold then o = now + brk; p = 0 end
        elseif now >= o then
          o = now + brk; p = 0
        end
        redis.call('HSET', KEYS[1], 'f', f, 'o', o, 'p', p)
        redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
        return {f, o, p}
        """;

    private const string SuccessScript = """
        local o = tonumber(redis.call('HGET', KEYS[1], 'o')) or 0
        redis.call('DEL', KEYS[1])
        if o > 0 then return 1 end
        return 0
        """;

    private const string HoldOpenScript = """
        local v = redis.call('HMGET', KEYS[1], 'f', 'o', 'p')
        local f = tonumber(v[1]) or 0
        local o = tonumber(v[2]) or 0
        local p = tonumber(v[3]) or 0
        local untilMs = tonumber(ARGV[1])
        if o < untilMs then
          o = untilMs; p = 0
          redis.call('HSET', KEYS[1], 'f', f, 'o', o, 'p', p)
          redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
        end
        return {f, o, p}
        """;

    public string Kind => "redis";

    public async ValueTask<IReadOnlyDictionary<string, BreakerState>> GetAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var reads = keys.Select(k => (Key: k, Task: db.HashGetAsync(Prefix + k, ["f", "o", "p"]))).ToList();
        await Task.WhenAll(reads.Select(r => r.Task)).WaitAsync(cancellationToken);
        var result = new Dictionary<string, BreakerState>(keys.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, task) in reads)
        {
            var v = task.Result;
            result[key] = new BreakerState((int)Long(v[0]), Long(v[1]), Long(v[2]));
        }

        return result;
    }

    public async ValueTask<bool> TryClaimProbeAsync(string key, long nowMs, long leaseMs, CancellationToken cancellationToken)
    {
        var result = await redis.GetDatabase().ScriptEvaluateAsync(ClaimProbeScript, [Prefix + key], [nowMs, leaseMs]).WaitAsync(cancellationToken);
        return (long)result == 1;
    }

    public async ValueTask<BreakerState> RecordFailureAsync(string key, long nowMs, int threshold, long breakMs, CancellationToken cancellationToken)
    {
        var result = await redis.GetDatabase().ScriptEvaluateAsync(FailureScript, [Prefix + key], [nowMs, threshold, breakMs, TtlSeconds]).WaitAsync(cancellationToken);
        var values = (RedisResult[])result!;
        return new BreakerState((int)(long)values[0], (long)values[1], (long)values[2]);
    }

    public async ValueTask<bool> RecordSuccessAsync(string key, CancellationToken cancellationToken)
    {
        var result = await redis.GetDatabase().ScriptEvaluateAsync(SuccessScript, [Prefix + key]).WaitAsync(cancellationToken);
        return (long)result == 1;
    }

    public async ValueTask<BreakerState> HoldOpenAsync(string key, long untilMs, CancellationToken cancellationToken)
    {
        var result = await redis.GetDatabase().ScriptEvaluateAsync(HoldOpenScript, [Prefix + key], [untilMs, TtlSeconds]).WaitAsync(cancellationToken);
        var values = (RedisResult[])result!;
        return new BreakerState((int)(long)values[0], (long)values[1], (long)values[2]);
    }

    private static long Long(RedisValue value) => value.IsNullOrEmpty ? 0 : (long)value;
}
