using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// Where executions report usage, off the request path. A bounded in-memory queue drained by
/// <see cref="UsageWriter"/>; when it is full (the database is away for long) or the writer has
/// stopped, events go to an append-only spill file on disk labelled with their database, which the
/// writer replays later. Nothing is dropped: an event is either queued, on disk, or written. An
/// in-process store (the embedded default) takes overflow directly instead: it never spills. When
/// the spill disk refuses a write too (full, read-only), the event is held in memory instead — a
/// degraded state that is logged, shown as queue depth "usage_spill_failed" and alerted on — and
/// written once the database is back; only a shutdown while both are away loses it (logged with the count).
/// </summary>
internal sealed partial class UsageQueue
{
    private readonly Channel<UsageEvent> _channel;
    private readonly IUsageStore _store;
    private readonly UsageSpillFolder _folder;
    private readonly Lock _spillGate = new();
    private readonly ConcurrentQueue<UsageEvent> _held = new();
    private readonly ILogger _logger;
    private volatile bool _writerStopped;
    private UsageStoreIdentity? _identity;
    private string? _spillFile;
    private long _spilled;
    private long _spillFailures;

    public UsageQueue(IOptions<UsageOptions> options, IUsageStore store, Observability.MonkeyCoderMetrics? metrics = null, ILogger<UsageQueue>? logger = null)
    {
        _logger = logger ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var o = options.Value;
        _store = store;
        _channel = Channel.CreateBounded<UsageEvent>(new BoundedChannelOptions(o.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _folder = new UsageSpillFolder(o.ResolvedSpillPath);
        metrics?.RegisterQueueDepth("usage", () => Depth);
        metrics?.RegisterQueueDepth("usage_spill_failed", () => Held);
        if (!store.InProcess)
        {
            metrics?.RegisterSpillBacklog(SpillBacklog);
        }
    }

    /// <summary>Events the spill disk refused, held in memory until the writer stores them.</summary>
    public int Held => _held.Count;

    /// <summary>Spill writes that failed since start (each one's events were held in memory instead).</summary>
    public long SpillFailures => Interlocked.Read(ref _spillFailures);

    /// <summary>Events waiting in memory.</summary>
    public int Depth => _channel.Reader.Count;

    /// <summary>Events written to the spill file by this process since start.</summary>
    public long Spilled => Interlocked.Read(ref _spilled);

    public string SpillDirectory => _folder.Directory;

    /// <summary>The database this process's events are for; null until the writer has asked the store (and always for an in-process store).</summary>
    public UsageStoreIdentity? Identity => _identity;

    internal UsageSpillFolder Folder => _folder;

    internal ChannelReader<UsageEvent> Reader => _channel.Reader;

    /// <summary>Never blocks and never drops: queue, or spill to disk.</summary>
    public void Enqueue(UsageEvent usage)
    {
        if (_writerStopped || !_channel.Writer.TryWrite(usage))
        {
            SpillOrHold([usage]);
        }
    }

    /// <summary>Spills; when the disk refuses, holds the events in memory (the caller's request must not fail for it).</summary>
    internal void SpillOrHold(IReadOnlyList<UsageEvent> events)
    {
        try
        {
            Spill(events);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            foreach (var e in events)
            {
                _held.Enqueue(e);
            }

            var failures = Interlocked.Increment(ref _spillFailures);
            // Once, then every 1,000th: a full disk under load must not flood the log.
            if (failures == 1 || failures % 1_000 == 0)
            {
                Log.SpillFailed(_logger, ex, _folder.Directory, _held.Count, failures);
            }
        }
    }

    /// <summary>Takes up to <paramref name="max"/> held events for the writer.</summary>
    internal List<UsageEvent> TakeHeld(int max)
    {
        var taken = new List<UsageEvent>();
        while (taken.Count < max && _held.TryDequeue(out var e))
        {
            taken.Add(e);
        }

        return taken;
    }

    /// <summary>Called by the writer at start, before any call is served: spill files are for this database.</summary>
    internal void Label(UsageStoreIdentity identity)
    {
        lock (_spillGate)
        {
            _identity = identity;
            _spillFile = _folder.NewFileFor(identity);
        }
    }

    /// <summary>Called by the writer when it stops: later events go straight to disk.</summary>
    internal void MarkWriterStopped() => _writerStopped = true;

    /// <summary>Appends events to this process's spill file; an in-process store takes them directly.</summary>
    internal void Spill(IReadOnlyList<UsageEvent> events)
    {
        if (_store.InProcess)
        {
            // Completes synchronously (the contract of an in-process store): nothing to wait out.
            _store.WriteAsync(events, CancellationToken.None).GetAwaiter().GetResult();
            return;
        }

        lock (_spillGate)
        {
            // Unlabelled only if the writer never started (the host failed before serving): an
            // operator replays such a file with --include-unlabelled.
            _spillFile ??= Path.Combine(_folder.Directory, $"usage-{Environment.ProcessId}-{Guid.NewGuid():N}.jsonl");
            _folder.Append(_spillFile, _identity, events);
            Interlocked.Add(ref _spilled, events.Count);
        }
    }

    /// <summary>
    /// Takes a spill file for replay: renames it first so that events spilled meanwhile start a new
    /// file rather than being deleted with this one.
    /// </summary>
    internal string? Claim(UsageSpillFile file)
    {
        lock (_spillGate)
        {
            return UsageSpillFolder.Claim(file);
        }
    }

    private (long Own, long Other) SpillBacklog()
    {
        long own = 0;
        long other = 0;
        var tag = _identity?.Tag;
        foreach (var file in _folder.List())
        {
            if (tag is not null && file.Tag == tag)
            {
                own += file.Bytes;
            }
            else
            {
                other += file.Bytes;
            }
        }

        return (own, other);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.UsageSpillFailed, Level = LogLevel.Error,
            Message = "Spilling usage events to {Directory} failed (spill failure {Failures}); {Held} events held in memory until the database takes them")]
        public static partial void SpillFailed(ILogger logger, Exception exception, string directory, int held, long failures);
    }
}
