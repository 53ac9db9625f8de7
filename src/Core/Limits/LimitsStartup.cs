using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Limits;

/// <summary>Says at start which limiter serves (embedded = this process only).</summary>
internal sealed partial class LimitsStartup(IRateLimiter limiter, IOptions<LimitOptions> options, ILogger<LimitsStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Backend(logger, limiter.Kind, options.Value.Enabled, options.Value.RequestsPerMinute, options.Value.TokensPerMinute);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.LimitsBackend, Level = LogLevel.Information,
            Message = "Rate limits: {Limiter} (embedded = in-process, one replica); enabled {Enabled}; defaults {RequestsPerMinute} requests/min per RPC, {TokensPerMinute} tokens/min")]
        public static partial void Backend(ILogger logger, string limiter, bool enabled, int requestsPerMinute, int tokensPerMinute);
    }
}
