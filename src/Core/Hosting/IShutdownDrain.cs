namespace MonkeyCoder.Core.Hosting;

/// <summary>
/// Work that must finish before the process exits (flush the usage queue, close a batch, …).
/// Runs once on shutdown, after Kestrel has stopped accepting and in-flight calls and streams have
/// ended (or the drain period ran out), so the last requests' work is included. Register with
/// <see cref="ShutdownDrainExtensions.AddShutdownDrain{TDrain}"/>; see Hosting/README.md.
/// </summary>
internal interface IShutdownDrain
{
    /// <summary>Short name for logs, e.g. "usage-queue".</summary>
    string Name { get; }

    /// <summary>
    /// Finishes the work. <paramref name="cancellationToken"/> fires when the drain period
    /// (<c>DRAIN_SECONDS</c>) is used up; return promptly then.
    /// </summary>
    Task DrainAsync(CancellationToken cancellationToken);
}
