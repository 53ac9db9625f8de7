using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Storage;

namespace MonkeyCoder.Core.Sessions;

/// <summary>Registrations of sessions (conversation history): Redis when <c>REDIS_URL</c> is set, else in-process.</summary>
internal static class SessionServiceExtensions
{
    public static IServiceCollection AddMonkeyCoderSessions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<SessionOptions>, SessionOptionsValidator>();
        services.AddOptions<SessionOptions>().Bind(configuration.GetSection(SessionOptions.Section)).ValidateOnStart();
        if (!string.IsNullOrWhiteSpace(configuration[StorageServiceExtensions.RedisUrlKey]))
        {
            // The multiplexer is shared with the other features (registered once by storage).
            services.AddMonkeyCoderStorage(configuration);
            services.AddSingleton<ISessionStore, RedisSessionStore>();
        }
        else
        {
            services.AddSingleton<ISessionStore, InMemorySessionStore>();
        }

        return services;
    }
}
