using StackExchange.Redis;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// Limits shared by every replica: each decision is one Lua script (one round trip, atomic on the
/// Redis server, timed by the server's clock so replica clocks do not matter). All keys of one user
/// share a hash tag, so the script also runs on a Redis cluster. Each script call is timed as
/// <c>monkeycoder.dependency.duration</c> (redis, ratelimit_acquire / ratelimit_complete).
/// </summary>
/// <para>
/// A month's spend missing from Redis (restart without persistence, failover to an empty replica, FLUSHALL, eviction) is
/// rebuilt from <paramref name="usage"/> before a reservation or status read trusts it: the month's billed total of the key
/// and of the user, stored only while still missing (see SeedScript). The usage store is asked only then, never per call.
/// Its failure (PostgreSQL down) propagates: nothing is admitted against a spend nobody knows.
/// </para>
internal sealed partial class RedisRateLimiter(IConnectionMultiplexer redis, TimeProvider time, Observability.MonkeyCoderMetrics? metrics = null,
    Usage.IUsageStore? usage = null, Microsoft.Extensions.Logging.ILogger<RedisRateLimiter>? logger = null) : IRateLimiter
{
    /// <summary>Rebuilds tried per reservation before giving up (the spend vanishing again each time means Redis keeps losing data).</summary>
    private const int SeedAttempts = 3;

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

    // KEYS: 1 token buckets, 2 key spend (may be a dummy), 3 user spend, 4 key holds, 5 user holds.
    // ARGV: 1 bucket, 2 token delta, 3 month, 4 cost micro-USD, 5 key spend tracked (1/0), 6 hold member ('' = none).
    // Returns {key spend, user spend} after the settlement (-1 when not touched).
    // A month field that is missing (Redis lost its data, or nobody asked for it yet) is left missing: the next reservation
    // or status read rebuilds it from the usage store, which holds this call's usage event too (see SeedScript).
    private const string CompleteScript = """
        local delta = tonumber(ARGV[2])
        if delta ~= 0 and tonumber(ARGV[1]) > 0 then
          redis.call('HINCRBY', KEYS[1], ARGV[1], delta)
        end
        if ARGV[6] ~= '' then
          redis.call('ZREM', KEYS[4], ARGV[6])
          redis.call('ZREM', KEYS[5], ARGV[6])
        end
        local cost = tonumber(ARGV[4])
        local ks, us = -1, -1
        if cost > 0 then
          if ARGV[5] == '1' and redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then
            ks = redis.call('HINCRBY', KEYS[2], ARGV[3], cost)
            redis.call('EXPIRE', KEYS[2], 3456000)
          end
          if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then
            us = redis.call('HINCRBY', KEYS[3], ARGV[3], cost)
            redis.call('EXPIRE', KEYS[3], 3456000)
          end
        end
        return {ks, us}
        """;

    // KEYS: 1 key spend, 2 user spend, 3 key holds (zset member "id:micros", score = lapse time ms), 4 user holds,
    //       5 key "exhausted" flag of the month, 6 user flag.
    // ARGV: 1 month, 2 key budget (-1 none), 3 user budget (-1 none), 4 amount, 5 member, 6 ttl ms, 7 key tracked (1/0).
    // Returns {verdict, key left, user left, first refusal}: verdict 0 held, 3 key budget, 4 user budget; left = budget - spend -
    // holds before this one (-1 none); first refusal 1 for the first refusal of that budget this month (for the 100 % alert).
    // Verdict 5: the month's spend of a budget that applies is missing, nothing held; second value 1 key, 2 user, 3 both.
    private const string ReserveScript = """
        local miss = 0
        if ARGV[7] == '1' and tonumber(ARGV[2]) >= 0 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then miss = 1 end
        if tonumber(ARGV[3]) >= 0 and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then miss = miss + 2 end
        if miss > 0 then return {5, miss, 0, 0} end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local ask = tonumber(ARGV[4])
        local ttl = tonumber(ARGV[6])
        local function held(k)
          redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
          local sum = 0
          for _, m in ipairs(redis.call('ZRANGE', k, 0, -1)) do
            sum = sum + tonumber(string.match(m, ':(%d+)$'))
          end
          return sum
        end
        local kleft, uleft = -1, -1
        local kb = tonumber(ARGV[2])
        if ARGV[7] == '1' and kb >= 0 then
          kleft = kb - tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') - held(KEYS[3])
          if kleft < ask then return {3, kleft, -1, redis.call('SET', KEYS[5], '1', 'NX', 'EX', 3456000) and 1 or 0} end
        end
        local ub = tonumber(ARGV[3])
        if ub >= 0 then
          uleft = ub - tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') - held(KEYS[4])
          if uleft < ask then return {4, kleft, uleft, redis.call('SET', KEYS[6], '1', 'NX', 'EX', 3456000) and 1 or 0} end
        end
        if ARGV[7] == '1' then
          redis.call('ZADD', KEYS[3], now + ttl, ARGV[5])
          redis.call('PEXPIRE', KEYS[3], ttl)
        end
        redis.call('ZADD', KEYS[4], now + ttl, ARGV[5])
        redis.call('PEXPIRE', KEYS[4], ttl)
        return {0, kleft, uleft, 0}
        """;

    // KEYS: 1 key spend, 2 user spend, 3 key holds, 4 user holds. ARGV: 1 month, 2 key tracked (1/0).
    // Returns {key spend, key held, key holds, user spend, user held, user holds, missing}; missing as in ReserveScript's verdict 5.
    private const string StatusScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local function held(k)
          local sum, n = 0, 0
          for _, m in ipairs(redis.call('ZRANGEBYSCORE', k, now, '+inf')) do
            sum = sum + tonumber(string.match(m, ':(%d+)$'))
            n = n + 1
          end
          return sum, n
        end
        local kh, kn = held(KEYS[3])
        local uh, un = held(KEYS[4])
        local miss = 0
        if ARGV[2] == '1' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then miss = 1 end
        if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then miss = miss + 2 end
        return {tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0'), kh, kn, tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0'), uh, un, miss}
        """;

    // KEYS: 1 key spend, 2 user spend. ARGV: 1 month, 2 key spend rebuilt (-1 = leave), 3 user spend rebuilt (-1 = leave).
    // Sets each field only while it is still missing (HSETNX): of replicas rebuilding at once, the first wins and the others'
    // equal or older totals are dropped rather than added; a settlement that lands after the seed adds to it (CompleteScript).
    // Returns {key set, user set}: 1 where this call's total was stored.
    private const string SeedScript = """
        local r = {0, 0}
        for i = 1, 2 do
          if tonumber(ARGV[i + 1]) >= 0 then
            r[i] = redis.call('HSETNX', KEYS[i], ARGV[1], ARGV[i + 1])
            redis.call('EXPIRE', KEYS[i], 3456000)
          end
        end
        return r
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

    public async Task<SpendTotals> CompleteAsync(LimitRequest request, LimitDecision decision, long actualTokens, double costUsd, CancellationToken cancellationToken,
        SpendReservation? reservation = null)
    {
        var reserved = Math.Min(request.EstimatedTokens, request.TokensPerMinute);
        var delta = request.EstimatedTokens > 0 ? actualTokens - reserved : 0;
        var cost = LimitMath.ToMicros(costUsd);
        if (delta == 0 && cost <= 0 && reservation is null)
        {
            return SpendTotals.Unknown;
        }

        var tag = Tag(request);
        var result = (RedisResult[])(await EvaluateAsync("ratelimit_complete", CompleteScript,
            [tag + ":tok:" + request.Subject, tag + ":spend:" + (request.KeyId ?? "-"), tag + ":spend:user", tag + ":hold:" + (request.KeyId ?? "-"), tag + ":hold:user"],
            [decision.TokenWindow, delta, LimitMath.Month(time.GetUtcNow()), cost, request.KeyId is null ? "0" : "1", reservation?.Member ?? ""]))!;
        return new SpendTotals((long)result[0], (long)result[1]);
    }

    public async Task<SpendReservation> ReserveAsync(LimitRequest request, long micros, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var tag = Tag(request);
        var id = Guid.NewGuid().ToString("N");
        var hold = new SpendReservation(id, micros, true, null, -1);
        var now = time.GetUtcNow();
        var month = LimitMath.Month(now);
        RedisResult[] result;
        for (var attempt = 1; ; attempt++)
        {
            result = (RedisResult[])(await EvaluateAsync("budget_reserve", ReserveScript,
                [tag + ":spend:" + (request.KeyId ?? "-"), tag + ":spend:user", tag + ":hold:" + (request.KeyId ?? "-"), tag + ":hold:user",
                    tag + ":exhausted:" + (request.KeyId ?? "-") + ":" + month, tag + ":exhausted:user:" + month],
                [month, request.KeyBudgetMicros ?? -1, request.UserBudgetMicros ?? -1, micros, hold.Member,
                    (long)ttl.TotalMilliseconds, request.KeyId is null ? "0" : "1"]))!;
            if ((int)result[0] != 5)
            {
                break;
            }

            if (attempt == SeedAttempts)
            {
                throw new RedisException($"The month's spend of user {request.UserId} went missing from Redis again after {SeedAttempts} rebuilds.");
            }

            await SeedAsync(request, now, (int)result[1], cancellationToken);
        }

        var verdict = (int)result[0];
        var keyLeft = (long)result[1];
        var userLeft = (long)result[2];
        return hold with
        {
            Admitted = verdict == 0,
            Scope = verdict switch { 3 => "key", 4 => "user", _ => null },
            RemainingMicros = verdict == 3 ? keyLeft : verdict == 4 ? userLeft : LimitMath.Tighter(keyLeft, userLeft),
            KeyRemainingMicros = keyLeft,
            UserRemainingMicros = userLeft,
            FirstRefusal = (long)result[3] == 1,
        };
    }

    public async Task<BudgetSnapshot> GetBudgetAsync(LimitRequest request, CancellationToken cancellationToken)
    {
        var tag = Tag(request);
        var now = time.GetUtcNow();
        RedisResult[] r;
        for (var attempt = 1; ; attempt++)
        {
            r = (RedisResult[])(await EvaluateAsync("budget_status", StatusScript,
                [tag + ":spend:" + (request.KeyId ?? "-"), tag + ":spend:user", tag + ":hold:" + (request.KeyId ?? "-"), tag + ":hold:user"],
                [LimitMath.Month(now), request.KeyId is null ? "0" : "1"]))!;
            var missing = (int)r[6];
            if (missing == 0 || attempt == SeedAttempts)
            {
                break;
            }

            await SeedAsync(request, now, missing, cancellationToken);
        }

        return new BudgetSnapshot(
            request.KeyId is null ? null : new BudgetUse(request.KeyBudgetMicros, (long)r[0], (long)r[1], (int)r[2]),
            new BudgetUse(request.UserBudgetMicros, (long)r[3], (long)r[4], (int)r[5]));
    }

    private static string Tag(LimitRequest request) => "{mc:" + request.UserId + "}";

    /// <summary>
    /// Rebuilds the month's spend that <paramref name="missing"/> names (1 key, 2 user, 3 both) from the usage store and
    /// stores each total only while its field is still missing. Without a usage store the spend restarts at 0, as before.
    /// </summary>
    private async Task SeedAsync(LimitRequest request, DateTimeOffset now, int missing, CancellationToken cancellationToken)
    {
        var month = LimitMath.Month(now);
        var utc = now.UtcDateTime;
        var start = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var spend = usage is null ? default : await usage.MonthSpendAsync(request.KeyId, request.UserId, start, cancellationToken);
        var keySeed = (missing & 1) != 0 && request.KeyId is not null ? spend.KeyMicros : -1;
        var userSeed = (missing & 2) != 0 ? spend.UserMicros : -1;
        var tag = Tag(request);
        var set = (RedisResult[])(await EvaluateAsync("budget_seed", SeedScript,
            [tag + ":spend:" + (request.KeyId ?? "-"), tag + ":spend:user"], [month, keySeed, userSeed]))!;
        if ((long)set[0] == 1)
        {
            metrics?.RecordSpendRebuilt("key");
        }

        if ((long)set[1] == 1)
        {
            metrics?.RecordSpendRebuilt("user");
        }

        if (logger is not null && ((long)set[0] == 1 || (long)set[1] == 1))
        {
            Log.SpendRebuilt(logger, request.UserId, request.KeyId ?? "-", month, (long)set[0] == 1 ? keySeed : -1, (long)set[1] == 1 ? userSeed : -1,
                usage is null ? "none" : usage.InProcess ? "in-process" : "postgresql");
        }
    }

    private static partial class Log
    {
        [Microsoft.Extensions.Logging.LoggerMessage(EventId = Observability.EventIds.BudgetSpendRebuilt, Level = Microsoft.Extensions.Logging.LogLevel.Information,
            Message = "Budget spend of user {UserId} (key {KeyId}) for month {Month} was missing in Redis; rebuilt from the usage store ({UsageStore}): key {KeyMicros} µUSD, user {UserMicros} µUSD (-1 = not rebuilt here)")]
        public static partial void SpendRebuilt(Microsoft.Extensions.Logging.ILogger logger, string userId, string keyId, string month, long keyMicros, long userMicros, string usageStore);
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
