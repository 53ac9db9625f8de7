using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// What one GetUsage answer was for: who asked (<see cref="CallerId"/>, the authenticated principal),
/// whose usage it covers (<see cref="Scope"/>: a principal, or null for an admin's "everyone"), the
/// granularity and the range. A range with an explicit end is absolute (<see cref="Start"/>,
/// <see cref="End"/> in UTC ticks); one that ends "now" is rolling and keyed by its length in whole
/// seconds (<see cref="End"/> = -1), so "the last 10 s" asked again a moment later is the same shape.
/// </summary>
internal readonly record struct UsageReadKey(string CallerId, string? Scope, bool Hourly, long Start, long End)
{
    /// <summary>The key of a request: <paramref name="explicitEnd"/> says whether the caller set end_time.</summary>
    public static UsageReadKey For(CallerIdentity caller, string? scope, bool hourly, DateTimeOffset start, DateTimeOffset end, bool explicitEnd) =>
        explicitEnd
            ? new(caller.PrincipalId, scope, hourly, start.UtcTicks, end.UtcTicks)
            : new(caller.PrincipalId, scope, hourly, (long)Math.Round((end - start).TotalSeconds, MidpointRounding.AwayFromZero), -1);

    /// <summary>Bytes the key costs in the cache's accounting (strings as UTF-16, plus the fixed fields).</summary>
    internal long Bytes => 2L * (CallerId.Length + (Scope?.Length ?? 0)) + 64;
}

/// <summary>
/// GetUsage's stale-if-error memory: each caller's last successful answer per request shape
/// (<see cref="UsageReadKey"/>), kept as its serialized bytes for at most
/// <see cref="UsageOptions.StaleReadSeconds"/>, within <see cref="UsageOptions.StaleReadCacheMb"/>
/// (the oldest answers are dropped first). Only the caller who got an answer can get it back: the
/// key starts with the caller's principal, so one caller's usage is never served to another.
/// </summary>
internal sealed partial class UsageReadCache(IOptions<UsageOptions> options, TimeProvider time, Observability.MonkeyCoderMetrics? metrics = null,
    ILogger<UsageReadCache>? logger = null)
{
    /// <summary>Per-entry bookkeeping on top of the key and the payload (node, dictionary slot, timestamps).</summary>
    internal const long EntryOverheadBytes = 160;

    private readonly Lock _lock = new();
    private readonly Dictionary<UsageReadKey, LinkedListNode<Entry>> _entries = [];

    /// <summary>Oldest answer first: an answer stored again moves to the end, so expiry and eviction take from the front.</summary>
    private readonly LinkedList<Entry> _order = new();
    private long _bytes;
    private int _serving;

    private sealed record Entry(UsageReadKey Key, byte[] Payload, DateTimeOffset AsOf)
    {
        public long Bytes => Key.Bytes + Payload.Length + EntryOverheadBytes;
    }

    /// <summary>True when stale reads are on (<see cref="UsageOptions.StaleReadSeconds"/> &gt; 0).</summary>
    public bool Enabled => options.Value.StaleReadSeconds > 0;

    /// <summary>Bytes held now (the accounting <see cref="UsageOptions.StaleReadCacheMb"/> bounds).</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    private long MaxBytes => options.Value.StaleReadCacheMb * 1024L * 1024L;

    /// <summary>Remembers a fresh answer (read from the store at <paramref name="asOf"/>) for this key, replacing the previous one.</summary>
    public void Store(UsageReadKey key, byte[] payload, DateTimeOffset asOf)
    {
        if (!Enabled)
        {
            return;
        }

        if (Interlocked.Exchange(ref _serving, 0) == 1)
        {
            Log.StaleReadsEnded((ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        }

        var entry = new Entry(key, payload, asOf);
        lock (_lock)
        {
            if (_entries.Remove(key, out var previous))
            {
                _order.Remove(previous);
                _bytes -= previous.Value.Bytes;
            }

            if (entry.Bytes > MaxBytes)
            {
                return;
            }

            _entries[key] = _order.AddLast(entry);
            _bytes += entry.Bytes;
            Trim(time.GetUtcNow());
        }
    }

    /// <summary>
    /// The caller's last answer for this key when it is at most <see cref="UsageOptions.StaleReadSeconds"/>
    /// old (the store being down is the caller's to know: it is counted and logged once per outage).
    /// </summary>
    public bool TryGetStale(UsageReadKey key, out byte[] payload, out DateTimeOffset asOf)
    {
        payload = [];
        asOf = default;
        if (!Enabled)
        {
            return false;
        }

        lock (_lock)
        {
            Trim(time.GetUtcNow());
            // Answers finished out of order can sit behind a newer one: check this one's own age too.
            if (!_entries.TryGetValue(key, out var node) || node.Value.AsOf < time.GetUtcNow().AddSeconds(-options.Value.StaleReadSeconds))
            {
                return false;
            }

            (payload, asOf) = (node.Value.Payload, node.Value.AsOf);
        }

        metrics?.RecordUsageStaleRead();
        if (Interlocked.Exchange(ref _serving, 1) == 0)
        {
            Log.ServingStale((ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, options.Value.StaleReadSeconds);
        }

        return true;
    }

    /// <summary>Drops expired answers, then the oldest until the rest fit. Under the lock.</summary>
    private void Trim(DateTimeOffset now)
    {
        var oldest = now.AddSeconds(-options.Value.StaleReadSeconds);
        var max = MaxBytes;
        while (_order.First is { } first && (first.Value.AsOf < oldest || _bytes > max))
        {
            _order.RemoveFirst();
            _entries.Remove(first.Value.Key);
            _bytes -= first.Value.Bytes;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.UsageServingStaleReads, Level = LogLevel.Warning,
            Message = "The usage store is unreachable: GetUsage answers callers with their own last answer (stale, at most {StaleSeconds} s old); callers without one get UNAVAILABLE")]
        public static partial void ServingStale(ILogger logger, int staleSeconds);

        [LoggerMessage(EventId = Observability.EventIds.UsageStaleReadsEnded, Level = LogLevel.Information,
            Message = "The usage store answers again: GetUsage answers are fresh")]
        public static partial void StaleReadsEnded(ILogger logger);
    }
}
