using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Caching;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Sessions;
using MonkeyCoder.Core.Storage;

namespace MonkeyCoder.Core.Usage;

/// <summary>Usage accounting, the response cache and sessions; PostgreSQL/Redis when configured, else in-process.</summary>
internal static class UsageServiceExtensions
{
    public static IServiceCollection AddMonkeyCoderUsage(this IServiceCollection services, IConfiguration configuration, IHealthChecksBuilder health)
    {
        services.AddSingleton<IValidateOptions<UsageOptions>, UsageOptionsValidator>();
        services.AddOptions<UsageOptions>().Bind(configuration.GetSection(UsageOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<Caching.CacheOptions>, CacheOptionsValidator>();
        services.AddOptions<Caching.CacheOptions>().Bind(configuration.GetSection(Caching.CacheOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SessionOptions>, SessionOptionsValidator>();
        services.AddOptions<SessionOptions>().Bind(configuration.GetSection(SessionOptions.Section)).ValidateOnStart();

        var databaseUrl = configuration[StorageServiceExtensions.DatabaseUrlKey];
        var redisUrl = configuration[StorageServiceExtensions.RedisUrlKey];

        if (!string.IsNullOrWhiteSpace(databaseUrl))
        {
            // The data source and the usage_events migration come from the storage feature.
            services.AddMonkeyCoderStorage(configuration);
            services.AddSingleton<IUsageStore, PostgresUsageStore>();
            // Degraded, not unready, while PostgreSQL is down: the service serves through the outage.
            health.AddCheck<PostgresHealthCheck>("postgresql", HealthStatus.Degraded, tags: [Hosting.MonkeyCoderServiceExtensions.ReadyTag]);
        }
        else
        {
            services.AddSingleton<IUsageStore, InMemoryUsageStore>();
        }

        if (!string.IsNullOrWhiteSpace(redisUrl))
        {
            services.AddSingleton<IResponseCache, RedisResponseCache>();
            services.AddSingleton<ISessionStore, RedisSessionStore>();
            health.AddCheck<RedisHealthCheck>("redis", HealthStatus.Degraded, tags: [Hosting.MonkeyCoderServiceExtensions.ReadyTag]);
        }
        else
        {
            services.AddSingleton<IResponseCache, MemoryResponseCache>();
            services.AddSingleton<ISessionStore, InMemorySessionStore>();
        }

        services.AddSingleton<CacheStatistics>();
        services.AddSingleton<UsageReadCache>();
        services.AddSingleton<UsageQueue>();
        services.AddSingleton<UsageWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageWriter>());
        services.AddHostedService<UsageRetention>();
        services.TryAddSingleton<ICallerAccessor, PrincipalCallerAccessor>();
        services.AddSingleton<TaskExecutor>();
        return services;
    }
}
