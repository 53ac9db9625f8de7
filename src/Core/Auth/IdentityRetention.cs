using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Auth;

/// <summary>
/// Deletes identity state past its retention every <see cref="AuthOptions.PurgeIntervalMinutes"/>:
/// device authorizations and refresh tokens <see cref="AuthOptions.ExpiredRetentionDays"/> after they
/// expire, audit events older than <see cref="AuthOptions.AuditRetentionDays"/> (0 keeps them). Like
/// usage retention, a failed purge is logged and retried on the next tick.
/// </summary>
internal sealed partial class IdentityRetention(IIdentityStore store, IOptions<AuthOptions> options, TimeProvider time, ILogger<IdentityRetention> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(o.PurgeIntervalMinutes), time);
        try
        {
            do
            {
                await PurgeOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: not a failure.
        }
    }

    /// <summary>One purge; returns rows deleted (0 after a logged failure).</summary>
    public async Task<int> PurgeOnceAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var now = time.GetUtcNow();
        try
        {
            var purged = await store.PurgeExpiredAsync(now.AddDays(-o.ExpiredRetentionDays), o.AuditRetentionDays == 0 ? null : now.AddDays(-o.AuditRetentionDays), cancellationToken);
            if (purged > 0)
            {
                Log.Purged(logger, purged, o.ExpiredRetentionDays, o.AuditRetentionDays);
            }

            return purged;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.PurgeFailed(logger, ex);
            return 0;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.IdentityPurged, Level = LogLevel.Information,
            Message = "Purged {Count} expired device authorizations, refresh tokens and audit events (expired > {ExpiredDays} days, audit > {AuditDays} days; 0 = kept)")]
        public static partial void Purged(ILogger logger, int count, int expiredDays, int auditDays);

        [LoggerMessage(EventId = Observability.EventIds.IdentityPurgeFailed, Level = LogLevel.Warning, Message = "Identity purge failed")]
        public static partial void PurgeFailed(ILogger logger, Exception exception);
    }
}
