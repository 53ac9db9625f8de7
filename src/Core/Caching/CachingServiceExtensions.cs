using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Storage;

namespace MonkeyCoder.Core.Caching;

/// <summary>Registrations of the response cache: Redis when <c>REDIS_URL</c> is set, else in-process.</summary>
internal static class CachingServiceExtensions
{
    public static IServiceCollection AddMonkeyCoderCaching(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<CacheOptions>, CacheOptionsValidator>();
        services.AddOptions<CacheOptions>().Bind(configuration.GetSection(CacheOptions.Section)).ValidateOnStart();
        if (!string.IsNullOrWhiteSpace(configuration[StorageServiceExtensions.RedisUrlKey]))
        {
            // The multiplexer is shared with the other features (registered once by storage).
            services.AddMonkeyCoderStorage(configuration);
            services.AddSingleton<IResponseCache, RedisResponseCache>();
        }
        else
        {
            services.AddSingleton<IResponseCache, MemoryResponseCache>();
        }

        services.AddSingleton<CacheStatistics>();
        return services;
    }
}
