using StackExchange.Redis;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// Limits shared by every replica: each decision is one Lua script (one round trip, atomic on the
/// Redis server, timed by the server's clock so replica clocks do not matter). All keys of one user
/// share a hash tag, so the script also runs on a Redis cluster. Each script call is timed as
/// <c>monkeycoder.dependency.duration</c> (redis, ratelimit_acquire / ratelimit_complete).
/// </summary>
public sealed class RedisRateLimiter(IConnectionMultiplexer redis, TimeProvider time, Observability.MonkeyCoderMetrics? metrics = null) : IRateLimiter
{
    // KEYS: 1 request log (zset), 2 token buckets (hash minute → tokens), 3 key spend (hash month → micro-USD), 4 user spend.
    // ARGV: 1 request limit, 2 unique member, 3 token limit, 4 token estimate, 5 key budget (-1 none), 6 user budget (-1 none), 7 month, 8 window ms.
    // Returns {verdict, count, retry_ms, reset_ms, token_bucket}; verdict 0 admitted, 1 requests, 2 tokens, 3 key budget, 4 user budget.
    private const string AcquireScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local window = tonumber(ARGV[8])
        local kb = tonumber(ARGV[5])
        if kb >= 0 and tonumber(redis.call('HGET', KEYS[3], ARGV[7]) or '0') >= kb then return {3, 0, 0, 0, 0} end
        local ub = tonumber(ARGV[6])
        if ub >= 0 and tonumber(redis.call('HGET', KEYS[4], ARGV[7]) or '0') >= ub then return {4, 0, 0, 0, 0} end
        local limit = tonumber(ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        local count = redis.call('ZCARD', KEYS[1])
        if count >= limit then
          local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
          local retry = tonumber(oldest[2]) + window - now
          return {1, count, retry, retry, 0}
        end
        local bucket = math.floor(now / window)
        local est = tonumber(ARGV[4])
        if est > 0 then
          local tlimit = tonumber(ARGV[3])
          if est > tlimit then est = tlimit end
          local cur = tonumber(redis.call('HGET', KEYS[2], tostring(bucket)) or '0')
          local prev = tonumber(redis.call('HGET', KEYS[2], tostring(bucket - 1)) or '0')
          local elapsed = now - bucket * window
          if prev * (window - elapsed) / window + cur + est > tlimit then
            return {2, count, window - elapsed, window - elapsed, bucket}
          end
          redis.call('HINCRBY', KEYS[2], tostring(bucket), est)
          redis.call('HDEL', KEYS[2], tostring(bucket - 2))
          redis.call('PEXPIRE', KEYS[2], window * 3)
        end
        redis.call('ZADD', KEYS[1], now, ARGV[2])
        redis.call('PEXPIRE', KEYS[1], window)
        local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        return {0, count + 1, 0, tonumber(oldest[2]) + window - now, bucket}
        """;

    // KEYS: 1 token buckets, 2 key spend (may be a dummy), 3 user spend. ARGV: 1 bucket, 2 token delta, 3 month, 4 cost micro-USD, 5 key spend tracked (1/0).
    private const string CompleteScript = """
        local delta = tonumber(ARGV[2])
        if delta ~= 0 and tonumber(ARGV[1]) > 0 then
          redis.call('HINCRBY', KEYS[1], ARGV[1], delta)
        end
        local cost = tonumber(ARGV[4])
        if cost > 0 then
          if ARGV[5] == '1' then
            redis.call('HINCRBY', KEYS[2], ARGV[3], cost)
            redis.call('EXPIRE', KEYS[2], 3456000)
          end
          redis.call('HINCRBY', KEYS[3], ARGV[3], cost)
          redis.call('EXPIRE', KEYS[3], 3456000)
        end
        return 0
        """;

    public string Kind => "redis";

    public async Task<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken)
    {
        var tag = "{mc:" + request.UserId + "}";
        var keys = new RedisKey[]
        {
            tag + ":req:" + request.Subject + ":" + request.Method,
            tag + ":tok:" + request.Subject,
            tag + ":spend:" + (request.KeyId ?? "-"),
            tag + ":spend:user",
        };
        var values = new RedisValue[]
        {
            request.RequestsPerMinute,
            Guid.NewGuid().ToString("N"),
            request.TokensPerMinute,
            request.EstimatedTokens,
            request.KeyBudgetMicros ?? -1,
            request.UserBudgetMicros ?? -1,
            LimitMath.Month(time.GetUtcNow()),
            (long)LimitMath.Window.TotalMilliseconds,
        };
        var result = (RedisResult[])(await EvaluateAsync("ratelimit_acquire", AcquireScript, keys, values))!;
        var verdict = (int)result[0];
        var count = (int)result[1];
        var retry = TimeSpan.FromMilliseconds(Math.Max(0, (long)result[2]));
        var reset = TimeSpan.FromMilliseconds(Math.Max(0, (long)result[3]));
        var bucket = (long)result[4];
        return verdict switch
        {
            0 => new LimitDecision(LimitVerdict.Admitted, request.RequestsPerMinute, Math.Max(0, request.RequestsPerMinute - count), TimeSpan.Zero, reset, bucket),
            1 => new LimitDecision(LimitVerdict.RequestsExceeded, request.RequestsPerMinute, 0, retry, reset, 0),
            2 => new LimitDecision(LimitVerdict.TokensExceeded, request.RequestsPerMinute, Math.Max(0, request.RequestsPerMinute - count), retry, reset, 0),
            _ => new LimitDecision(LimitVerdict.BudgetExceeded, request.RequestsPerMinute, 0, LimitMath.UntilNextMonth(time.GetUtcNow()),
                LimitMath.UntilNextMonth(time.GetUtcNow()), 0, verdict == 3 ? "key" : "user"),
        };
    }

    public async Task CompleteAsync(LimitRequest request, LimitDecision decision, long actualTokens, double costUsd, CancellationToken cancellationToken)
    {
        var reserved = Math.Min(request.EstimatedTokens, request.TokensPerMinute);
        var delta = request.EstimatedTokens > 0 ? actualTokens - reserved : 0;
        var cost = LimitMath.ToMicros(costUsd);
        if (delta == 0 && cost <= 0)
        {
            return;
        }

        var tag = "{mc:" + request.UserId + "}";
        await EvaluateAsync("ratelimit_complete", CompleteScript,
            [tag + ":tok:" + request.Subject, tag + ":spend:" + (request.KeyId ?? "-"), tag + ":spend:user"],
            [decision.TokenWindow, delta, LimitMath.Month(time.GetUtcNow()), cost, request.KeyId is null ? "0" : "1"]);
    }

    private async Task<RedisResult> EvaluateAsync(string operation, string script, RedisKey[] keys, RedisValue[] values)
    {
        var call = metrics?.StartDependencyCall("redis", operation);
        try
        {
            var result = await redis.GetDatabase().ScriptEvaluateAsync(script, keys, values);
            call?.Complete(true);
            return result;
        }
        catch
        {
            call?.Complete(false);
            throw;
        }
    }
}
