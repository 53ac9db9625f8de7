using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// Router statistics in Redis, shared by every replica. One hash per model
/// (<c>monkeycoder:router:stats:{provider/id}</c>), updated atomically by a Lua script that runs the
/// same arithmetic as <see cref="ModelStats.Apply"/>; one string per remembered execution with a TTL.
/// Statistics are advisory: a Redis failure is logged and routing carries on without them.
/// </summary>
internal sealed partial class RedisRouterStatsStore(
    IConnectionMultiplexer redis,
    IOptions<RoutingOptions> options,
    TimeProvider time,
    ILogger<RedisRouterStatsStore> logger) : IRouterStatsStore
{
    public const string StatsPrefix = "monkeycoder:router:stats:";
    public const string ExecutionPrefix = "monkeycoder:router:exec:";

    /// <summary>Executions already rated (SET NX), kept as long as the execution memory.</summary>
    public const string RatedPrefix = "monkeycoder:router:rated:";

    /// <summary>Statistics of a model nobody has used for this long expire. 30 days.</summary>
    private static readonly TimeSpan StatsTtl = TimeSpan.FromDays(30);

    // Same arithmetic as ModelStats.Apply: time decay since the stored update time, then the
    // per-observation decay of the evidence, then the attempt. Times are the caller's clock (ms).
    private const string UpdateScript = """
        local d = tonumber(ARGV[1])
        local r = tonumber(ARGV[2])
        local w = tonumber(ARGV[3])
        local v = redis.call('HMGET', KEYS[1], 'a', 'b', 'n', 'f', 'lat', 'ttft', 'cost', 't')
        local a = tonumber(v[1]) or 0
        local b = tonumber(v[2]) or 0
        local n = tonumber(v[3]) or 0
        local f = tonumber(v[4]) or 0
        local lat = tonumber(v[5]) or 0
        local ttft = tonumber(v[6]) or 0
        local cost = tonumber(v[7]) or 0
        local t = tonumber(v[8]) or 0
        local now = tonumber(ARGV[12])
        local half = tonumber(ARGV[13])
        if t > 0 and now > t and half > 0 then
          local k = 0.5 ^ ((now - t) / 1000.0 / half)
          a = a * k
          b = b * k
          n = n * k
          f = f * k
        end
        if now > t then t = now end
        local ew = tonumber(ARGV[10])
        local s = n - f
        if s < 0 then s = 0 end
        local sw = 1 / (s + 1)
        if sw < ew then sw = ew end
        local function avg(cur, x) if cur <= 0 then return x end return cur + sw * (x - cur) end
        if w > 0 then
          a = a * d + w * r
          b = b * d + w * (1 - r)
        end
        if ARGV[4] == '1' then
          n = n + 1
          if ARGV[5] == '1' then
            lat = avg(lat, tonumber(ARGV[6]))
            local tt = tonumber(ARGV[7])
            if tt >= 0 then ttft = avg(ttft, tt) end
            cost = avg(cost, tonumber(ARGV[8]))
          else
            f = f + 1
            redis.call('HSET', KEYS[1], 'err', ARGV[9])
          end
        end
        redis.call('HSET', KEYS[1], 'a', string.format('%.17g', a), 'b', string.format('%.17g', b), 'n', string.format('%.17g', n), 'f', string.format('%.17g', f),
          'lat', string.format('%.17g', lat), 'ttft', string.format('%.17g', ttft), 'cost', string.format('%.17g', cost), 't', string.format('%d', t))
        redis.call('EXPIRE', KEYS[1], tonumber(ARGV[11]))
        return 1
        """;

    private readonly RoutingOptions _options = options.Value;

    public string Kind => "redis";

    public async ValueTask<IReadOnlyDictionary<string, ModelStats>> GetAsync(IReadOnlyCollection<string> modelKeys, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, ModelStats>(modelKeys.Count, StringComparer.OrdinalIgnoreCase);
        try
        {
            var db = redis.GetDatabase();
            // Issued together: the multiplexer pipelines them into one round trip.
            var reads = modelKeys.Select(k => (Key: k, Task: db.HashGetAllAsync(StatsPrefix + k))).ToList();
            await Task.WhenAll(reads.Select(r => r.Task)).WaitAsync(cancellationToken);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var (key, task) in reads)
            {
                result[key] = Parse(task.Result).DecayedTo(now, _options.DecayHalfLifeSeconds);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.StatsUnavailable(logger, ex.GetType().Name);
            foreach (var key in modelKeys)
            {
                result[key] = ModelStats.Empty;
            }
        }

        return result;
    }

    public async ValueTask UpdateAsync(string modelKey, StatsUpdate update, CancellationToken cancellationToken)
    {
        var attempt = update.Attempt;
        RedisValue[] args =
        [
            Num(_options.Decay), Num(update.Reward), Num(update.Weight),
            attempt is null ? "0" : "1",
            attempt?.Succeeded == true ? "1" : "0",
            Num(attempt?.LatencyMs ?? 0),
            Num(attempt?.TimeToFirstTokenMs ?? -1),
            Num(attempt?.CostUsd ?? 0),
            attempt?.ErrorClass ?? "",
            Num(ModelStats.EwmaWeight),
            (long)StatsTtl.TotalSeconds,
            time.GetUtcNow().ToUnixTimeMilliseconds(),
            Num(_options.DecayHalfLifeSeconds),
        ];
        try
        {
            await redis.GetDatabase().ScriptEvaluateAsync(UpdateScript, [StatsPrefix + modelKey], args).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.StatsUnavailable(logger, ex.GetType().Name);
        }
    }

    public async ValueTask RememberExecutionAsync(string executionId, string modelKey, string ownerId, string taskClass, CancellationToken cancellationToken)
    {
        try
        {
            // "owner\nmodel\ntask": neither a principal id, a model key nor a task class holds a newline.
            await redis.GetDatabase().StringSetAsync(ExecutionPrefix + executionId, ownerId + "\n" + modelKey + (taskClass.Length > 0 ? "\n" + taskClass : ""), TimeSpan.FromHours(_options.ExecutionMemoryHours)).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.StatsUnavailable(logger, ex.GetType().Name);
        }
    }

    public async ValueTask<RememberedExecution?> FindExecutionAsync(string executionId, CancellationToken cancellationToken)
    {
        var value = await redis.GetDatabase().StringGetAsync(ExecutionPrefix + executionId).WaitAsync(cancellationToken);
        if (value.IsNullOrEmpty)
        {
            return null;
        }

        var parts = value.ToString().Split('\n');
        return parts.Length >= 2 && parts[0].Length > 0 ? new RememberedExecution(parts[1], parts[0], parts.Length > 2 ? parts[2] : "") : null;
    }

    public async ValueTask<bool> TryMarkRatedAsync(string executionId, CancellationToken cancellationToken) =>
        await redis.GetDatabase().StringSetAsync(RatedPrefix + executionId, 1, TimeSpan.FromHours(_options.ExecutionMemoryHours), When.NotExists).WaitAsync(cancellationToken);

    private static ModelStats Parse(HashEntry[] entries)
    {
        if (entries.Length == 0)
        {
            return ModelStats.Empty;
        }

        var map = entries.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
        double D(string name) => map.TryGetValue(name, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0;
        return new ModelStats
        {
            Alpha = D("a"),
            Beta = D("b"),
            Attempts = D("n"),
            Failures = D("f"),
            LatencyMs = D("lat"),
            TimeToFirstTokenMs = D("ttft"),
            CostUsd = D("cost"),
            LastError = map.GetValueOrDefault("err") ?? "",
            UpdatedAtMs = (long)D("t"),
        };
    }

    private static RedisValue Num(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.RouterStatsUnavailable, Level = LogLevel.Warning,
            Message = "Router statistics in Redis are unavailable ({ErrorType}); routing continues without them")]
        public static partial void StatsUnavailable(ILogger logger, string errorType);
    }
}
