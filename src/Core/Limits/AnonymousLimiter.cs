using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// Counts anonymous calls per client address and per account email through the shared limiter
/// (Redis: one count across replicas), falling back to this replica's in-process limiter while Redis
/// is unreachable, as <see cref="RequestLimits"/> does. The email is hashed before it becomes a key.
/// </summary>
internal sealed partial class AnonymousLimiter(IRateLimiter limiter, InMemoryRateLimiter fallback, IOptions<AnonymousLimitOptions> options,
    IOptions<LimitOptions> limits, ILogger<AnonymousLimiter> logger, Observability.MonkeyCoderMetrics? metrics = null)
{
    private readonly AnonymousLimitOptions _options = options.Value;
    private readonly bool _enabled = options.Value.Enabled && limits.Value.Enabled;
    private int _outage;

    /// <summary>How long to wait when <paramref name="method"/> from <paramref name="client"/> (or for <paramref name="account"/>) is over its limit; null when admitted.</summary>
    public async Task<TimeSpan?> RefuseAsync(string method, IPAddress? client, string? account, CancellationToken cancellationToken)
    {
        if (!_enabled)
        {
            return null;
        }

        if (client is not null)
        {
            var address = client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client;
            if (await OverAsync("anon-ip:" + address.ToString(), method, _options.PerClientPerMinute, cancellationToken) is { } wait)
            {
                metrics?.RecordRateLimitRejected(RequestLimits.RpcLabel(method), "client");
                return wait;
            }
        }

        if (!string.IsNullOrWhiteSpace(account))
        {
            var tag = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(account.Trim().ToLowerInvariant())))[..24];
            if (await OverAsync("anon-account:" + tag, method, _options.PerAccountPerMinute, cancellationToken) is { } wait)
            {
                metrics?.RecordRateLimitRejected(RequestLimits.RpcLabel(method), "account");
                return wait;
            }
        }

        return null;
    }

    /// <summary>The message a refused caller sees.</summary>
    public static string Message(TimeSpan retryAfter) => string.Create(CultureInfo.InvariantCulture,
        $"Too many sign-in attempts from this client or for this account; retry after {Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds))} s.");

    private async Task<TimeSpan?> OverAsync(string subject, string method, int perMinute, CancellationToken cancellationToken)
    {
        // The subject is also the "user" so keys spread over Redis slots; no tokens and no budget.
        var ask = new LimitRequest(subject, method, subject, null, perMinute, int.MaxValue, 0, null, null);
        LimitDecision decision;
        try
        {
            decision = await limiter.AcquireAsync(ask, cancellationToken);
            Interlocked.Exchange(ref _outage, 0);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            if (Interlocked.Exchange(ref _outage, 1) == 0)
            {
                Log.Unavailable(logger, ex, limiter.Kind);
            }

            decision = await fallback.AcquireAsync(ask, cancellationToken);
        }

        return decision.Admitted ? null : decision.RetryAfter > TimeSpan.Zero ? decision.RetryAfter : TimeSpan.FromSeconds(1);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.AnonymousLimiterUnavailable, Level = LogLevel.Warning,
            Message = "Shared limiter {Limiter} unreachable: anonymous sign-in limits count on this replica until it answers")]
        public static partial void Unavailable(ILogger logger, Exception exception, string limiter);
    }
}
