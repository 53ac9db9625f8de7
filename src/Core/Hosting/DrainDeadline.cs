using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Configuration;

namespace MonkeyCoder.Core.Hosting;

/// <summary>
/// The drain bound: after SIGTERM, calls and streams in flight get <c>DRAIN_SECONDS</c> to finish.
/// Shortly before the host would cut their connections (1 s before the end of the drain period,
/// or at 75% of a period under 4 s), <see cref="Reached"/> completes so <see cref="Calls.DrainStep"/> can end them
/// with UNAVAILABLE and RetryInfo, which clients retry on another replica, instead of a reset
/// connection.
/// </summary>
internal sealed class DrainDeadline
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ITimer? _timer;

    public DrainDeadline(IHostApplicationLifetime lifetime, IOptions<HostingOptions> hosting, TimeProvider time)
    {
        var drain = TimeSpan.FromSeconds(hosting.Value.DrainSeconds);
        var cut = drain - TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, drain.Ticks / 4));
        lifetime.ApplicationStopping.Register(() =>
        {
            // Kept in a field: an unreferenced timer may be collected before it fires.
            _timer = time.CreateTimer(_ => _reached.TrySetResult(), null, cut, Timeout.InfiniteTimeSpan);
        });
    }

    /// <summary>Completes when in-flight calls must end (never before shutdown starts).</summary>
    public Task Reached => _reached.Task;
}
