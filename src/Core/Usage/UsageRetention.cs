using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Usage;

/// <summary>Purges usage older than RetentionDays, every PurgeIntervalMinutes.</summary>
internal sealed partial class UsageRetention(IUsageStore store, IOptions<UsageOptions> options, TimeProvider time, ILogger<UsageRetention> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.RetentionDays == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(o.PurgeIntervalMinutes), time);
        try
        {
            await PurgeLoopAsync(timer, o, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping (also when the host failed to start and is disposed): not a failure.
        }
    }

    private async Task PurgeLoopAsync(PeriodicTimer timer, UsageOptions o, CancellationToken stoppingToken)
    {
        do
        {
            try
            {
                var purged = await store.PurgeAsync(time.GetUtcNow().AddDays(-o.RetentionDays), stoppingToken);
                if (purged > 0)
                {
                    Log.Purged(logger, purged, o.RetentionDays);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.PurgeFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.UsagePurged, Level = LogLevel.Information,
            Message = "Purged {Count} usage events older than {Days} days")]
        public static partial void Purged(ILogger logger, long count, int days);

        [LoggerMessage(EventId = Observability.EventIds.UsagePurgeFailed, Level = LogLevel.Warning, Message = "Usage purge failed")]
        public static partial void PurgeFailed(ILogger logger, Exception exception);
    }
}
