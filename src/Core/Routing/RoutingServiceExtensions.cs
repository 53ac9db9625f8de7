using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Routing.Learning;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Routing;

/// <summary>Registrations of the routing feature.</summary>
public static partial class RoutingServiceExtensions
{
    /// <summary>
    /// Task analysis, candidate scoring, the bandit and its statistics store: Redis when an
    /// <see cref="IConnectionMultiplexer"/> is registered (REDIS_URL), else in-process.
    /// </summary>
    public static IServiceCollection AddMonkeyCoderRouting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        services.AddOptions<RoutingOptions>().Bind(configuration.GetSection(RoutingOptions.Section)).ValidateOnStart();

        services.TryAddSingleton<TaskAnalyzer>();
        services.TryAddSingleton(sp => new BanditRandom(sp.GetRequiredService<IOptions<RoutingOptions>>().Value.RandomSeed));
        services.AddSingleton<ThompsonSamplingBandit>();
        services.AddSingleton(sp => new RewardModel(sp.GetRequiredService<IOptions<RoutingOptions>>().Value));
        services.TryAddSingleton<IRoutingBudget, UnlimitedRoutingBudget>();
        services.TryAddSingleton<IRouterStatsStore>(sp =>
        {
            IRouterStatsStore store = sp.GetService<IConnectionMultiplexer>() is { } redis
                ? new RedisRouterStatsStore(redis, sp.GetRequiredService<IOptions<RoutingOptions>>(), sp.GetRequiredService<ILogger<RedisRouterStatsStore>>())
                : new InMemoryRouterStatsStore(sp.GetRequiredService<IOptions<RoutingOptions>>(), sp.GetRequiredService<TimeProvider>());
            Log.StoreSelected(sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RoutingServiceExtensions).FullName!), "router statistics", store.Kind);
            return store;
        });
        services.AddSingleton<ITaskRouter, CapabilityRouter>();
        return services;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.RouterStoresSelected, Level = LogLevel.Information,
            Message = "Store for {What}: {Kind} (in-process state serves one replica only)")]
        public static partial void StoreSelected(ILogger logger, string what, string kind);
    }
}
