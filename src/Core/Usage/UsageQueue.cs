using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// Where executions report usage, off the request path. A bounded in-memory queue drained by
/// <see cref="UsageWriter"/>; when it is full (the database is away for long) or the writer has
/// stopped, events go to an append-only spill file on disk labelled with their database, which the
/// writer replays later. Nothing is dropped: an event is either queued, on disk, or written. An
/// in-process store (the embedded default) takes overflow directly instead: it never spills.
/// </summary>
public sealed class UsageQueue
{
    private readonly Channel<UsageEvent> _channel;
    private readonly IUsageStore _store;
    private readonly UsageSpillFolder _folder;
    private readonly Lock _spillGate = new();
    private volatile bool _writerStopped;
    private UsageStoreIdentity? _identity;
    private string? _spillFile;
    private long _spilled;

    public UsageQueue(IOptions<UsageOptions> options, IUsageStore store, Observability.MonkeyCoderMetrics? metrics = null)
    {
        var o = options.Value;
        _store = store;
        _channel = Channel.CreateBounded<UsageEvent>(new BoundedChannelOptions(o.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _folder = new UsageSpillFolder(o.ResolvedSpillPath);
        metrics?.RegisterQueueDepth("usage", () => Depth);
        if (!store.InProcess)
        {
            metrics?.RegisterSpillBacklog(SpillBacklog);
        }
    }

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
            Spill([usage]);
        }
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
}
