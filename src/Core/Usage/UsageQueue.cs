using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// Where executions report usage, off the request path. A bounded in-memory queue drained by
/// <see cref="UsageWriter"/>; when it is full (the database is away for long) or the writer has
/// stopped, events go to an append-only spill file on disk, which the writer replays later.
/// Nothing is dropped: an event is either queued, on disk, or written. When the spill disk refuses
/// a write too (full, read-only), the event is held in memory instead — a degraded state that is
/// logged, shown as queue depth "usage_spill_failed" and alerted on — and written once the
/// database is back; only a shutdown while both are away loses it (logged with the count).
/// </summary>
public sealed partial class UsageQueue
{
    private readonly Channel<UsageEvent> _channel;
    private readonly string _spillDirectory;
    private readonly string _spillFile;
    private readonly Lock _spillGate = new();
    private readonly ConcurrentQueue<UsageEvent> _held = new();
    private readonly ILogger _logger;
    private volatile bool _writerStopped;
    private long _spilled;
    private long _spillFailures;

    public UsageQueue(IOptions<UsageOptions> options, Observability.MonkeyCoderMetrics? metrics = null, ILogger<UsageQueue>? logger = null)
    {
        _logger = logger ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var o = options.Value;
        _channel = Channel.CreateBounded<UsageEvent>(new BoundedChannelOptions(o.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _spillDirectory = o.ResolvedSpillPath;
        _spillFile = Path.Combine(_spillDirectory, $"usage-{Environment.ProcessId}-{Guid.NewGuid():N}.jsonl");
        metrics?.RegisterQueueDepth("usage", () => Depth);
        metrics?.RegisterQueueDepth("usage_spill_failed", () => Held);
    }

    /// <summary>Events the spill disk refused, held in memory until the writer stores them.</summary>
    public int Held => _held.Count;

    /// <summary>Spill writes that failed since start (each one's events were held in memory instead).</summary>
    public long SpillFailures => Interlocked.Read(ref _spillFailures);

    /// <summary>Events waiting in memory.</summary>
    public int Depth => _channel.Reader.Count;

    /// <summary>Events written to the spill file by this process since start.</summary>
    public long Spilled => Interlocked.Read(ref _spilled);

    public string SpillDirectory => _spillDirectory;

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
                Log.SpillFailed(_logger, ex, _spillDirectory, _held.Count, failures);
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

    /// <summary>Called by the writer when it stops: later events go straight to disk.</summary>
    internal void MarkWriterStopped() => _writerStopped = true;

    /// <summary>Appends events to this process's spill file (fsync'd: they must survive a crash).</summary>
    internal void Spill(IReadOnlyList<UsageEvent> events)
    {
        lock (_spillGate)
        {
            Directory.CreateDirectory(_spillDirectory);
            using var lines = new MemoryStream();
            foreach (var e in events)
            {
                JsonSerializer.Serialize(lines, e, UsageJsonContext.Default.UsageEvent);
                lines.WriteByte((byte)'\n');
            }

            // Unbuffered, one write: a failed write (disk full) is cut back to where it began, so a
            // later append never joins a torn line and no event is half on disk.
            using var stream = new FileStream(_spillFile, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
            var start = stream.Length;
            try
            {
                stream.Write(lines.GetBuffer().AsSpan(0, (int)lines.Length));
                stream.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
                try
                {
                    stream.SetLength(start);
                }
                catch (IOException)
                {
                    // Replay skips a torn line; nothing more to do here.
                }

                throw;
            }

            Interlocked.Add(ref _spilled, events.Count);
        }
    }

    /// <summary>Spill files waiting to be replayed (this process's and any left by earlier ones).</summary>
    internal IReadOnlyList<string> SpillFiles()
    {
        lock (_spillGate)
        {
            return Directory.Exists(_spillDirectory)
                ? Directory.GetFiles(_spillDirectory, "usage-*.jsonl").Order(StringComparer.Ordinal).ToList()
                : [];
        }
    }

    /// <summary>
    /// Takes a spill file for replay: renames it first so that events spilled meanwhile start a new
    /// file rather than being deleted with this one.
    /// </summary>
    internal string? Claim(string file)
    {
        lock (_spillGate)
        {
            var claimed = file + ".replaying";
            try
            {
                File.Move(file, claimed);
                return claimed;
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    internal static List<UsageEvent> Read(string file)
    {
        var events = new List<UsageEvent>();
        foreach (var line in File.ReadLines(file))
        {
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                if (JsonSerializer.Deserialize(line, UsageJsonContext.Default.UsageEvent) is { } e)
                {
                    events.Add(e);
                }
            }
            catch (JsonException)
            {
                // A torn last line from a crash mid-write: everything before it is intact.
            }
        }

        return events;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.UsageSpillFailed, Level = LogLevel.Error,
            Message = "Spilling usage events to {Directory} failed (spill failure {Failures}); {Held} events held in memory until the database takes them")]
        public static partial void SpillFailed(ILogger logger, Exception exception, string directory, int held, long failures);
    }
}
