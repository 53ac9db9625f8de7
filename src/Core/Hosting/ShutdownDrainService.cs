using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Observability;

namespace MonkeyCoder.Core.Hosting;

/// <summary>
/// Runs every <see cref="IShutdownDrain"/> concurrently when the host stops. Hosted services stop in
/// reverse registration order and the web server is registered after them, so this runs after the
/// server has drained its requests. One failing hook does not stop the others.
/// </summary>
internal sealed partial class ShutdownDrainService(IEnumerable<IShutdownDrain> drains, ILogger<ShutdownDrainService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var hooks = drains.ToList();
        Log.DrainStarted(logger, hooks.Count);
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(hooks.Select(h => RunAsync(h, cancellationToken))).ConfigureAwait(false);
        Log.DrainCompleted(logger, hooks.Count, watch.ElapsedMilliseconds);
    }

    private async Task RunAsync(IShutdownDrain hook, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            await hook.DrainAsync(cancellationToken).ConfigureAwait(false);
            Log.HookDrained(logger, hook.Name, watch.ElapsedMilliseconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.HookTimedOut(logger, hook.Name, watch.ElapsedMilliseconds);
        }
#pragma warning disable CA1031 // One hook's failure must not keep the others from draining.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.HookFailed(logger, ex, hook.Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.ShutdownDrainStarted, LogLevel.Information, "Shutdown: requests drained, running {Count} drain hooks")]
        public static partial void DrainStarted(ILogger logger, int count);

        [LoggerMessage(EventIds.ShutdownDrainCompleted, LogLevel.Information, "Shutdown: {Count} drain hooks finished in {ElapsedMs} ms")]
        public static partial void DrainCompleted(ILogger logger, int count, long elapsedMs);

        [LoggerMessage(EventIds.ShutdownHookDrained, LogLevel.Information, "Shutdown: drain hook {Hook} finished in {ElapsedMs} ms")]
        public static partial void HookDrained(ILogger logger, string hook, long elapsedMs);

        [LoggerMessage(EventIds.ShutdownHookTimedOut, LogLevel.Warning, "Shutdown: drain hook {Hook} ran out of drain time after {ElapsedMs} ms")]
        public static partial void HookTimedOut(ILogger logger, string hook, long elapsedMs);

        [LoggerMessage(EventIds.ShutdownHookFailed, LogLevel.Error, "Shutdown: drain hook {Hook} failed")]
        public static partial void HookFailed(ILogger logger, Exception exception, string hook);
    }
}
