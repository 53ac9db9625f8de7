using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Storage;
using MonkeyCoder.Core.Usage;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Limits;

/// <summary>Registrations of the limits feature: rate limiters, budgets and the anonymous sign-in limits.</summary>
internal static class LimitServiceExtensions
{
    /// <summary>
    /// Rate limits (Redis when <c>REDIS_URL</c> is set, else in-process), budget holds, this
    /// replica's share while Redis is unreachable, threshold alerts, the anonymous sign-in limiter
    /// and the start-up line naming the limiter. The call pipeline's admission step applies them
    /// (Calls/).
    /// </summary>
    public static IServiceCollection AddMonkeyCoderLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<LimitOptions>, LimitOptionsValidator>();
        services.AddOptions<LimitOptions>().Bind(configuration.GetSection(LimitOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AnonymousLimitOptions>, AnonymousLimitOptionsValidator>();
        services.AddOptions<AnonymousLimitOptions>().Bind(configuration.GetSection(AnonymousLimitOptions.Section)).ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        // The multiplexer is shared with the other features (registered once by storage).
        services.AddMonkeyCoderStorage(configuration);
        var redis = !string.IsNullOrWhiteSpace(configuration[StorageServiceExtensions.RedisUrlKey]);

        // The in-process limiter: the limiter without Redis, and this replica's fallback while Redis is unreachable.
        services.AddSingleton<InMemoryRateLimiter>();
        if (redis)
        {
            services.AddSingleton<IRateLimiter>(sp => new RedisRateLimiter(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<MonkeyCoderMetrics>(),
                sp.GetService<IUsageStore>(), sp.GetService<ILogger<RedisRateLimiter>>()));
        }
        else
        {
            services.AddSingleton<IRateLimiter>(sp => sp.GetRequiredService<InMemoryRateLimiter>());
        }

        // The admission step's limits (rate limits and budget holds of every edge).
        services.AddSingleton<RequestLimits>();
        // Budgets: worst-case holds, this replica's share while Redis is unreachable, threshold alerts.
        services.AddSingleton<WorstCaseCost>();
        services.AddSingleton<OutageBudget>();
        services.AddSingleton<BudgetAlerts>();
        if (redis)
        {
            services.AddHostedService<ReplicaCensus>();
        }

        services.AddSingleton<AnonymousLimiter>();
        services.AddHostedService<LimitsStartup>();
        return services;
    }
}
