using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// Drains <see cref="UsageQueue"/> into the store in batches (up to BatchSize events, or whatever
/// arrived within BatchDelayMs). A failed write is retried with capped exponential backoff while
/// new events wait in the queue (then on disk). After a successful write, spill files of this
/// database are replayed; other databases' files are left alone.
/// On shutdown it drains what is queued; what cannot be written in time goes to disk.
/// </summary>
internal sealed partial class UsageWriter(
    UsageQueue queue,
    IUsageStore store,
    IOptions<UsageOptions> options,
    TimeProvider time,
    ILogger<UsageWriter> logger) : BackgroundService
{
    /// <summary>Longest pause between retries of a failed write. Defaults to 5 s.</summary>
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    /// <summary>Time the final drain may spend writing before it spills the rest. Defaults to 5 s.</summary>
    private static readonly TimeSpan FinalDrainBudget = TimeSpan.FromSeconds(5);

    private readonly UsageOptions _options = options.Value;
    private long _written;

    /// <summary>Events this writer has stored since start.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>The batch being written when the writer was stopped: part of the final drain.</summary>
    private List<UsageEvent> _inHand = [];

    /// <summary>Spill files of other databases at the last "left alone" log line.</summary>
    private int _othersLogged;

    /// <summary>
    /// Before the host serves calls: learns which database the store writes to, so spill files are
    /// labelled (retried while PostgreSQL is starting; the host does not start without it), or says
    /// that an in-process store is not durable.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (store.InProcess)
        {
            Log.NotDurable(logger, InMemoryUsageStore.MaxEvents);
        }
        else
        {
            queue.Label(await IdentifyAsync(cancellationToken));
        }

        await base.StartAsync(cancellationToken);
    }

    private async Task<UsageStoreIdentity> IdentifyAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var identity = await store.GetIdentityAsync(cancellationToken);
                Log.Identified(logger, identity.Database, identity.SystemIdentifier, queue.SpillDirectory);
                return identity;
            }
            catch (Exception ex) when (attempt < 10 && ex is not OperationCanceledException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(300 * attempt), time, cancellationToken);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = _inHand = new List<UsageEvent>(_options.BatchSize);
        try
        {
            await ReplaySpillAsync(stoppingToken);
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await FillBatchAsync(batch, stoppingToken);
                await WriteWithRetryAsync(batch, stoppingToken);
                batch.Clear();
                await ReplaySpillAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: StopAsync's final drain takes over, including the batch in hand.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The loop may never have run (stopped right after start): the drain happens here either way.
        await base.StopAsync(cancellationToken);
        queue.MarkWriterStopped();
        await FinalDrainAsync(_inHand);
    }

    private async Task FillBatchAsync(List<UsageEvent> batch, CancellationToken cancellationToken)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        window.CancelAfter(TimeSpan.FromMilliseconds(_options.BatchDelayMs));
        try
        {
            while (batch.Count < _options.BatchSize)
            {
                while (batch.Count < _options.BatchSize && queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                if (batch.Count >= _options.BatchSize || !await queue.Reader.WaitToReadAsync(window.Token))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The batch window closed: write what we have.
        }
    }

    private async Task WriteWithRetryAsync(List<UsageEvent> batch, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        var failures = 0;
        while (true)
        {
            try
            {
                await store.WriteAsync(batch, cancellationToken);
                Interlocked.Add(ref _written, batch.Count);
                if (failures > 0)
                {
                    Log.Recovered(logger, batch.Count, failures);
                }

                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failures++;
                if (failures == 1 || failures % 20 == 0)
                {
                    Log.WriteFailed(logger, ex, batch.Count, failures, queue.Depth);
                }

                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    /// <summary>
    /// Replays spill files of this process's database (its own at once; another running process's
    /// once idle); files of other databases, and unlabelled ones, are left alone and said so in one
    /// log line whenever their number changes.
    /// </summary>
    private async Task ReplaySpillAsync(CancellationToken cancellationToken)
    {
        // Events the spill disk refused (held in memory) first: nothing else keeps them.
        while (queue.TakeHeld(_options.BatchSize) is { Count: > 0 } held)
        {
            await WriteWithRetryAsync(held, cancellationToken);
        }

        if (queue.Identity is not { } identity)
        {
            return;
        }

        var others = 0;
        var now = time.GetUtcNow();
        foreach (var file in queue.Folder.List())
        {
            if (file.Tag != identity.Tag)
            {
                others++;
                continue;
            }

            if (!UsageSpillFolder.MayAdopt(file, now) || queue.Claim(file) is not { } claimed)
            {
                continue;
            }

            // A file replayed twice (a crash mid-replay left it claimed) is harmless: writes are idempotent.
            List<UsageEvent> events;
            try
            {
                events = UsageSpillFolder.Read(claimed);
            }
            catch (IOException)
            {
                continue; // Replayed and deleted by another process of this database meanwhile.
            }

            foreach (var chunk in events.Chunk(_options.BatchSize))
            {
                await WriteWithRetryAsync([.. chunk], cancellationToken);
            }

            File.Delete(claimed);
            Log.Replayed(logger, events.Count, file.Name);
        }

        if (others != _othersLogged)
        {
            _othersLogged = others;
            if (others > 0)
            {
                Log.LeftAlone(logger, others, queue.SpillDirectory, identity.ToString());
            }
        }
    }

    private async Task FinalDrainAsync(List<UsageEvent> inHand)
    {
        var remaining = new List<UsageEvent>(inHand);
        while (queue.Reader.TryRead(out var item))
        {
            remaining.Add(item);
        }

        remaining.AddRange(queue.TakeHeld(int.MaxValue));

        if (remaining.Count == 0)
        {
            return;
        }

        using var budget = new CancellationTokenSource(FinalDrainBudget);
        try
        {
            foreach (var chunk in remaining.Chunk(_options.BatchSize))
            {
                await store.WriteAsync([.. chunk], budget.Token);
                Interlocked.Add(ref _written, chunk.Length);
            }

            Log.Drained(logger, remaining.Count);
        }
        catch (Exception ex)
        {
            // Idempotent writes make spilling an already-written chunk harmless.
            queue.SpillOrHold(remaining);
            var lost = queue.TakeHeld(int.MaxValue).Count;
            if (lost > 0)
            {
                Log.LostOnShutdown(logger, ex, lost, queue.SpillDirectory);
            }
            else
            {
                Log.SpilledOnShutdown(logger, ex, remaining.Count, queue.SpillDirectory);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.UsageWriteFailed, Level = LogLevel.Warning,
            Message = "Writing {Count} usage events failed (attempt {Failures}); {Queued} queued, retrying")]
        public static partial void WriteFailed(ILogger logger, Exception exception, int count, int failures, int queued);

        [LoggerMessage(EventId = Observability.EventIds.UsageWriteRecovered, Level = LogLevel.Information,
            Message = "Usage writes recovered: {Count} events written after {Failures} failed attempts")]
        public static partial void Recovered(ILogger logger, int count, int failures);

        [LoggerMessage(EventId = Observability.EventIds.UsageSpillReplayed, Level = LogLevel.Information,
            Message = "Replayed {Count} spilled usage events from {File}")]
        public static partial void Replayed(ILogger logger, int count, string file);

        [LoggerMessage(EventId = Observability.EventIds.UsageSpillLeftAlone, Level = LogLevel.Warning,
            Message = "Left {Count} usage spill files alone in {Directory}: they are for other databases than {Database} (or unlabelled); see them with `monkey-coder-service usage spill list`, replay them with `usage spill replay` and their DATABASE_URL")]
        public static partial void LeftAlone(ILogger logger, int count, string directory, string database);

        [LoggerMessage(EventId = Observability.EventIds.UsageStoreIdentified, Level = LogLevel.Information,
            Message = "Usage is written to database {Database} (cluster {SystemIdentifier}); spill files for it go to {Directory}")]
        public static partial void Identified(ILogger logger, string database, string systemIdentifier, string directory);

        [LoggerMessage(EventId = Observability.EventIds.UsageNotDurable, Level = LogLevel.Warning,
            Message = "Usage is kept in this process's memory only (no DATABASE_URL): not durable, lost on restart, the newest {MaxEvents} events at most")]
        public static partial void NotDurable(ILogger logger, int maxEvents);

        [LoggerMessage(EventId = Observability.EventIds.UsageDrained, Level = LogLevel.Information,
            Message = "Drained {Count} queued usage events on shutdown")]
        public static partial void Drained(ILogger logger, int count);

        [LoggerMessage(EventId = Observability.EventIds.UsageSpilledOnShutdown, Level = LogLevel.Warning,
            Message = "Could not write {Count} usage events on shutdown; spilled to {Directory} for the next start")]
        public static partial void SpilledOnShutdown(ILogger logger, Exception exception, int count, string directory);

        [LoggerMessage(EventId = Observability.EventIds.UsageLostOnShutdown, Level = LogLevel.Critical,
            Message = "Could not write {Count} usage events on shutdown, and the spill folder {Directory} refused them: they are lost")]
        public static partial void LostOnShutdown(ILogger logger, Exception exception, int count, string directory);
    }
}
