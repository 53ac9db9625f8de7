using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MonkeyCoder.Core.Auth;

/// <summary>
/// Collects API key use in memory and writes last-used times in one batch every few seconds, off
/// the request path. At most one flush interval of last-used times is lost on a crash.
/// </summary>
internal sealed partial class LastUsedTracker(IIdentityStore store, ILogger<LastUsedTracker> logger) : BackgroundService
{
    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(5);
    private ConcurrentDictionary<string, DateTimeOffset> _pending = new(StringComparer.Ordinal);

    public void Touch(string keyId, DateTimeOffset at) => _pending[keyId] = at;

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = Interlocked.Exchange(ref _pending, new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal));
        if (batch.IsEmpty)
        {
            return;
        }

        try
        {
            await store.UpdateLastUsedAsync(batch, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.FlushFailed(logger, ex, batch.Count);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }

        await FlushAsync(CancellationToken.None);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.LastUsedFlushFailed, Level = LogLevel.Warning, Message = "Could not record last-used times of {Count} API keys")]
        public static partial void FlushFailed(ILogger logger, Exception exception, int count);
    }
}
