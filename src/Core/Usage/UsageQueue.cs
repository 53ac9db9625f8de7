using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// Where executions report usage, off the request path. A bounded in-memory queue drained by
/// <see cref="UsageWriter"/>; when it is full (the database is away for long) or the writer has
/// stopped, events go to an append-only spill file on disk, which the writer replays later.
/// Nothing is dropped: an event is either queued, on disk, or written.
/// </summary>
public sealed class UsageQueue
{
    private readonly Channel<UsageEvent> _channel;
    private readonly string _spillDirectory;
    private readonly string _spillFile;
    private readonly Lock _spillGate = new();
    private volatile bool _writerStopped;
    private long _spilled;

    public UsageQueue(IOptions<UsageOptions> options, Observability.MonkeyCoderMetrics? metrics = null)
    {
        var o = options.Value;
        _channel = Channel.CreateBounded<UsageEvent>(new BoundedChannelOptions(o.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _spillDirectory = o.ResolvedSpillPath;
        _spillFile = Path.Combine(_spillDirectory, $"usage-{Environment.ProcessId}-{Guid.NewGuid():N}.jsonl");
        metrics?.RegisterQueueDepth("usage", () => Depth);
    }

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
            Spill([usage]);
        }
    }

    /// <summary>Called by the writer when it stops: later events go straight to disk.</summary>
    internal void MarkWriterStopped() => _writerStopped = true;

    /// <summary>Appends events to this process's spill file (fsync'd: they must survive a crash).</summary>
    internal void Spill(IReadOnlyList<UsageEvent> events)
    {
        lock (_spillGate)
        {
            Directory.CreateDirectory(_spillDirectory);
            using var stream = new FileStream(_spillFile, FileMode.Append, FileAccess.Write, FileShare.Read);
            foreach (var e in events)
            {
                JsonSerializer.Serialize(stream, e, UsageJsonContext.Default.UsageEvent);
                stream.WriteByte((byte)'\n');
            }

            stream.Flush(flushToDisk: true);
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
}
