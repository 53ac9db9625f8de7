using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Observability;

/// <summary>
/// Every Monkey Coder metric, on the <c>MonkeyCoder</c> meter (exported at <c>/metrics</c>). Features
/// call the Record… methods; they are cheap and safe from any thread. Durations are seconds. Tag
/// values are bounded sets (RPC names, provider/model keys, error classes, gRPC codes): never put
/// ids, prompts or user input in a tag.
/// </summary>
internal sealed class MonkeyCoderMetrics
{
    public const string MeterName = "MonkeyCoder";

    /// <summary>Latency buckets in seconds; 2 s is a boundary so the p95 &gt; 2 s alert is exact.</summary>
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

    /// <summary>Overhead buckets in seconds: the service's own time is expected in milliseconds.</summary>
    private static readonly double[] OverheadBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    private readonly Counter<long> _rpcRequests;
    private readonly Histogram<double> _rpcDuration;
    private readonly Histogram<double> _overhead;
    private readonly UpDownCounter<long> _activeStreams;
    private readonly Counter<long> _attempts;
    private readonly Histogram<double> _providerDuration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _providerErrors;
    private readonly Counter<long> _cache;
    private readonly Counter<long> _rateLimited;
    private readonly Histogram<double> _dependency;
    private readonly Counter<long> _usageStaleReads;
    private readonly Counter<long> _spendRebuilds;
    private readonly ConcurrentDictionary<string, Func<long>> _queueDepths = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Provider, string Model), int> _breakers = new();
    private Func<(long Own, long Other)>? _spillBacklog;
    private readonly TimeProvider _time;

    public MonkeyCoderMetrics(IMeterFactory meters, ProviderHealthMonitor health, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        var meter = meters.Create(MeterName);
        _rpcRequests = meter.CreateCounter<long>("monkeycoder.rpc.requests", description: "RPCs handled, by RPC and gRPC status code.");
        _rpcDuration = meter.CreateHistogram("monkeycoder.rpc.duration", "s", "RPC duration from the first interceptor to the handler's end.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _overhead = meter.CreateHistogram("monkeycoder.rpc.overhead", "s", "RPC time not spent waiting on a provider (the service's own cost).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OverheadBuckets });
        _activeStreams = meter.CreateUpDownCounter<long>("monkeycoder.streams.active", description: "Server streams in progress.");
        _attempts = meter.CreateCounter<long>("monkeycoder.provider.attempts", description: "Provider attempts by outcome (ok or the error class).");
        _providerDuration = meter.CreateHistogram("monkeycoder.provider.duration", "s", "Provider attempt latency.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _timeToFirstToken = meter.CreateHistogram("monkeycoder.provider.time_to_first_token", "s", "Time from attempt start to first content.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _tokens = meter.CreateCounter<long>("monkeycoder.provider.tokens", description: "Tokens by direction (input, output).");
        _cost = meter.CreateCounter<double>("monkeycoder.provider.cost_usd", description: "Estimated cost in US dollars from catalog prices.");
        _providerErrors = meter.CreateCounter<long>("monkeycoder.provider.errors", description: "Failed provider attempts by error class.");
        _cache = meter.CreateCounter<long>("monkeycoder.cache.lookups", description: "Cache lookups by cache and result (hit, miss).");
        _rateLimited = meter.CreateCounter<long>("monkeycoder.ratelimit.rejections", description: "Requests rejected by a rate limit or budget.");
        _dependency = meter.CreateHistogram("monkeycoder.dependency.duration", "s", "PostgreSQL / Redis call latency.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OverheadBuckets });

        _usageStaleReads = meter.CreateCounter<long>("monkeycoder.usage.stale_reads",
            description: "GetUsage answers served stale (the caller's own last answer) while the usage store was unreachable.");

        _spendRebuilds = meter.CreateCounter<long>("monkeycoder.budget.spend_rebuilds",
            description: "A month's budget spend (scope key or user) found missing in Redis and rebuilt from the usage store.");

        meter.CreateObservableGauge("monkeycoder.provider.health", () => HealthMeasurements(health),
            description: "Provider health: 2 healthy, 1 degraded, 0 unhealthy.");
        meter.CreateObservableGauge("monkeycoder.queue.depth", QueueMeasurements,
            description: "Items waiting in an internal queue (e.g. the usage writer).");
        meter.CreateObservableGauge("monkeycoder.usage.spill.backlog_bytes", SpillBacklogMeasurements,
            description: "Usage events on disk waiting for their database, in bytes: database=\"this\" (this process's database; replayed as soon as it answers), \"other\" (files of other databases or unlabelled: replay with `usage spill replay`).");
        meter.CreateObservableGauge("monkeycoder.breaker.state", BreakerMeasurements,
            description: "Circuit breaker per provider and model: 0 closed, 1 half-open, 2 open. No series until a breaker reports.");
    }

    public void RecordRpc(string rpc, string status, TimeSpan duration)
    {
        var tags = new TagList { { "rpc", rpc }, { "status", status } };
        _rpcRequests.Add(1, tags);
        _rpcDuration.Record(duration.TotalSeconds, tags);
    }

    public void RecordOverhead(string rpc, TimeSpan overhead) =>
        _overhead.Record(overhead.TotalSeconds, new KeyValuePair<string, object?>("rpc", rpc));

    public void StreamStarted() => _activeStreams.Add(1);

    public void StreamEnded() => _activeStreams.Add(-1);

    /// <summary>One provider attempt; outcome is "ok" or the snake-case error class.</summary>
    public void RecordAttempt(string provider, string model, string outcome, TimeSpan latency, TimeSpan? timeToFirstToken,
        long inputTokens, long outputTokens, double costUsd)
    {
        var tags = new TagList { { "provider", provider }, { "model", model }, { "outcome", outcome } };
        _attempts.Add(1, tags);
        _providerDuration.Record(latency.TotalSeconds, tags);
        var modelTags = new TagList { { "provider", provider }, { "model", model } };
        if (timeToFirstToken is { } ttft)
        {
            _timeToFirstToken.Record(ttft.TotalSeconds, modelTags);
        }

        if (inputTokens > 0)
        {
            _tokens.Add(inputTokens, new TagList { { "provider", provider }, { "model", model }, { "direction", "input" } });
        }

        if (outputTokens > 0)
        {
            _tokens.Add(outputTokens, new TagList { { "provider", provider }, { "model", model }, { "direction", "output" } });
        }

        if (costUsd > 0)
        {
            _cost.Add(costUsd, modelTags);
        }

        if (outcome != "ok")
        {
            _providerErrors.Add(1, new TagList { { "provider", provider }, { "error_class", outcome } });
        }
    }

    /// <summary>Hook for the caching feature.</summary>
    public void RecordCacheHit(string cache = "response") =>
        _cache.Add(1, new TagList { { "cache", cache }, { "result", "hit" } });

    /// <summary>Hook for the caching feature.</summary>
    public void RecordCacheMiss(string cache = "response") =>
        _cache.Add(1, new TagList { { "cache", cache }, { "result", "miss" } });

    /// <summary>Hook for the caching feature: an answer evicted for capacity, or a caller served by an identical in-flight call ("shared").</summary>
    public void RecordCacheEvent(string result, string cache = "response") =>
        _cache.Add(1, new TagList { { "cache", cache }, { "result", result } });

    /// <summary>Hook for the limits feature. <paramref name="limit"/> names the limit, e.g. "requests", "tokens", "budget".</summary>
    public void RecordRateLimitRejected(string rpc, string limit = "requests") =>
        _rateLimited.Add(1, new TagList { { "rpc", rpc }, { "limit", limit } });

    /// <summary>Hook for storage: one PostgreSQL or Redis call ("postgres", "redis") and its outcome ("ok", "error").</summary>
    public void RecordDependencyCall(string dependency, string operation, TimeSpan duration, bool succeeded) =>
        _dependency.Record(duration.TotalSeconds, new TagList { { "dependency", dependency }, { "operation", operation }, { "outcome", succeeded ? "ok" : "error" } });

    /// <summary>
    /// Starts timing one PostgreSQL or Redis call (by the injected clock); call
    /// <see cref="DependencyCall.Complete"/> once with its outcome. <paramref name="operation"/> is a
    /// fixed name, e.g. "ratelimit_acquire", "usage_copy", "cache_get".
    /// </summary>
    public DependencyCall StartDependencyCall(string dependency, string operation) => new(this, dependency, operation, _time.GetTimestamp());

    /// <summary>Hook for usage: one GetUsage answered from the caller's last answer because the usage store was unreachable.</summary>
    public void RecordUsageStaleRead() => _usageStaleReads.Add(1);

    /// <summary>Hook for the shared limiter: one month's spend of <paramref name="scope"/> ("key", "user") rebuilt from the usage store.</summary>
    public void RecordSpendRebuilt(string scope) => _spendRebuilds.Add(1, new TagList { { "scope", scope } });

    /// <summary>Hook for queues (e.g. the usage writer, name "usage"): the depth is read at each scrape.</summary>
    public void RegisterQueueDepth(string queue, Func<long> depth) => _queueDepths[queue] = depth;

    /// <summary>Hook for the usage spill folder: bytes waiting for this process's database and for others, read at each scrape.</summary>
    public void RegisterSpillBacklog(Func<(long Own, long Other)> backlog) => _spillBacklog = backlog;

    /// <summary>Hook for the execution feature's circuit breakers (one per provider and model): 0 closed, 1 half-open, 2 open.</summary>
    public void SetBreakerState(string provider, string model, int state) => _breakers[(provider, model)] = state;

    private static IEnumerable<Measurement<int>> HealthMeasurements(ProviderHealthMonitor health)
    {
        foreach (var (provider, state) in health.Snapshot())
        {
            var value = state switch
            {
                HealthState.Healthy => 2,
                HealthState.Degraded => 1,
                _ => 0,
            };
            yield return new Measurement<int>(value, new KeyValuePair<string, object?>("provider", provider));
        }
    }

    private IEnumerable<Measurement<long>> SpillBacklogMeasurements()
    {
        if (_spillBacklog is not { } backlog)
        {
            yield break;
        }

        (long Own, long Other)? measured;
        try
        {
            measured = backlog();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            measured = null; // The folder vanished mid-scan: no sample this scrape.
        }

        if (measured is not { } values)
        {
            yield break;
        }

        var (own, other) = values;
        yield return new Measurement<long>(own, new KeyValuePair<string, object?>("database", "this"));
        yield return new Measurement<long>(other, new KeyValuePair<string, object?>("database", "other"));
    }

    private IEnumerable<Measurement<long>> QueueMeasurements()
    {
        foreach (var (queue, depth) in _queueDepths)
        {
            yield return new Measurement<long>(depth(), new KeyValuePair<string, object?>("queue", queue));
        }
    }

    private IEnumerable<Measurement<int>> BreakerMeasurements()
    {
        foreach (var ((provider, model), state) in _breakers)
        {
            yield return new Measurement<int>(state, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("model", model));
        }
    }

    /// <summary>One timed dependency call from <see cref="StartDependencyCall"/>.</summary>
    public readonly struct DependencyCall(MonkeyCoderMetrics metrics, string dependency, string operation, long started)
    {
        public void Complete(bool succeeded) =>
            metrics.RecordDependencyCall(dependency, operation, metrics._time.GetElapsedTime(started), succeeded);
    }
}
