using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.Core.Routing.Scoring;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Routing;

/// <summary>Registrations of the routing feature.</summary>
internal static partial class RoutingServiceExtensions
{
    /// <summary>
    /// Task analysis, candidate scoring, the bandit and its statistics store: Redis when an
    /// <see cref="IConnectionMultiplexer"/> is registered (REDIS_URL), else in-process.
    /// </summary>
    public static IServiceCollection AddMonkeyCoderRouting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        services.AddOptions<RoutingOptions>().Bind(configuration.GetSection(RoutingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RoutingScoringOptions>, RoutingScoringOptionsValidator>();
        services.AddOptions<RoutingScoringOptions>().Bind(configuration.GetSection(RoutingScoringOptions.Section)).ValidateOnStart();

        services.TryAddSingleton<TaskAnalyzer>();
        services.TryAddSingleton(sp => new BanditRandom(sp.GetRequiredService<IOptions<RoutingOptions>>().Value.RandomSeed));
        services.AddSingleton<ThompsonSamplingBandit>();
        services.AddSingleton(sp => new RewardModel(sp.GetRequiredService<IOptions<RoutingOptions>>().Value));
        services.TryAddSingleton<IRoutingBudget, UnlimitedRoutingBudget>();
        services.TryAddSingleton(sp => new InMemoryRouterStatsStore(sp.GetRequiredService<IOptions<RoutingOptions>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IRouterStatsStore>(sp =>
        {
            IRouterStatsStore store = sp.GetService<IConnectionMultiplexer>() is { } redis
                ? new RedisRouterStatsStore(redis, sp.GetRequiredService<IOptions<RoutingOptions>>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RedisRouterStatsStore>>())
                : sp.GetRequiredService<InMemoryRouterStatsStore>();
            Log.StoreSelected(sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RoutingServiceExtensions).FullName!), "router statistics", store.Kind);
            return store;
        });
        services.AddSingleton<ITaskRouter>(sp => new CapabilityRouter(
            sp.GetRequiredService<TaskAnalyzer>(), sp.GetRequiredService<Providers.ModelCatalog>(), sp.GetRequiredService<Providers.ProviderRegistry>(),
            sp.GetRequiredService<Observability.ProviderHealthMonitor>(), sp.GetRequiredService<Execution.Resilience.CircuitBreaker>(),
            sp.GetRequiredService<IRouterStatsStore>(), sp.GetRequiredService<ThompsonSamplingBandit>(), sp.GetRequiredService<IRoutingBudget>(),
            sp.GetRequiredService<IOptions<RoutingOptions>>(), sp.GetRequiredService<IOptions<RoutingScoringOptions>>(),
            sp.GetRequiredService<ILogger<CapabilityRouter>>()));
        // Opt-in snapshot of the in-process statistics; with Redis the statistics live there instead.
        if (!string.IsNullOrWhiteSpace(configuration[RoutingOptions.Section + ":" + nameof(RoutingOptions.SnapshotPath)]))
        {
            services.AddSingleton<Microsoft.Extensions.Hosting.IHostedService>(sp => sp.GetService<IConnectionMultiplexer>() is null
                ? new RouterStatsSnapshot(sp.GetRequiredService<InMemoryRouterStatsStore>(), sp.GetRequiredService<IOptions<RoutingOptions>>(), sp.GetRequiredService<ILogger<RouterStatsSnapshot>>())
                : NoSnapshot.Instance);
        }

        return services;
    }

    /// <summary>Stands in for the snapshot when Redis holds the statistics.</summary>
    private sealed class NoSnapshot : Microsoft.Extensions.Hosting.IHostedService
    {
        public static readonly NoSnapshot Instance = new();

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.RouterStoresSelected, Level = LogLevel.Information,
            Message = "Store for {What}: {Kind} (in-process state serves one replica only)")]
        public static partial void StoreSelected(ILogger logger, string what, string kind);
    }
}
