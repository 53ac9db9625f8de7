using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Storage;

namespace MonkeyCoder.Core.Usage;

/// <summary>Usage accounting (PostgreSQL when configured, else in-process) and the storage health checks.</summary>
internal static class UsageServiceExtensions
{
    public static IServiceCollection AddMonkeyCoderUsage(this IServiceCollection services, IConfiguration configuration, IHealthChecksBuilder health)
    {
        services.AddSingleton<IValidateOptions<UsageOptions>, UsageOptionsValidator>();
        services.AddOptions<UsageOptions>().Bind(configuration.GetSection(UsageOptions.Section)).ValidateOnStart();

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
            // The cache, sessions, limits and circuit state live there; degraded, not unready, while it is down.
            health.AddCheck<RedisHealthCheck>("redis", HealthStatus.Degraded, tags: [Hosting.MonkeyCoderServiceExtensions.ReadyTag]);
        }

        services.AddSingleton<UsageReadCache>();
        services.AddSingleton<UsageQueue>();
        services.AddSingleton<UsageWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageWriter>());
        services.AddHostedService<UsageRetention>();
        services.TryAddSingleton<ICallerAccessor, PrincipalCallerAccessor>();
        return services;
    }
}
