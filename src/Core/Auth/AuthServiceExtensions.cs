using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Storage;
using Npgsql;

namespace MonkeyCoder.Core.Auth;

/// <summary>Storage clients, identity, API keys and limits (the call pipeline's authentication and admission steps use them).</summary>
internal static class AuthServiceExtensions
{
    /// <summary>
    /// Registers storage (shared data source and multiplexer), identity (PostgreSQL or embedded)
    /// (limits: Limits/LimitServiceExtensions).
    /// </summary>
    public static IServiceCollection AddMonkeyCoderAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        var production = string.Equals(configuration.GetValue(HostingOptions.Section + ":Environment", "development"), "production", StringComparison.OrdinalIgnoreCase);
        // Sign-up is closed in production unless the operator opted in (AUTH_ALLOW_SIGN_UP=true).
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section)).Configure(o => o.AllowSignUp ??= !production).ValidateOnStart();

        var environment = configuration.GetValue(HostingOptions.Section + ":Environment", "development");
        if (string.Equals(environment, "production", StringComparison.OrdinalIgnoreCase))
        {
            if (!configuration.GetValue(AuthOptions.Section + ":Enabled", true))
            {
                throw new InvalidOperationException("AUTH_ENABLED (MonkeyCoder:Auth:Enabled) cannot be false when ENVIRONMENT is production.");
            }

            if (string.IsNullOrEmpty(configuration[AuthOptions.Section + ":JwtSecretKey"]))
            {
                throw new InvalidOperationException("JWT_SECRET_KEY (MonkeyCoder:Auth:JwtSecretKey) is required when ENVIRONMENT is production.");
            }
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddMonkeyCoderStorage(configuration);
        var database = !string.IsNullOrWhiteSpace(configuration[StorageServiceExtensions.DatabaseUrlKey]);

        if (database)
        {
            services.AddSingleton<IIdentityStore>(sp => new PostgresIdentityStore(sp.GetRequiredService<NpgsqlDataSource>()));
        }
        else
        {
            services.AddSingleton<IIdentityStore, InMemoryIdentityStore>();
        }

        services.AddSingleton(sp =>
        {
            var auth = sp.GetRequiredService<IOptions<AuthOptions>>().Value;
            return new PasswordHasher(auth.PasswordIterations, auth.PasswordHashConcurrency, TimeSpan.FromSeconds(auth.PasswordHashQueueSeconds));
        });
        services.AddSingleton<AccessTokens>();
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<LastUsedTracker>();
        services.AddHostedService(sp => sp.GetRequiredService<LastUsedTracker>());
        services.AddSingleton<ApiKeys>();
        services.AddSingleton<IdentityService>();
        // After StorageStartup (registered above), so migrations ran before the first admin key is written.
        services.AddHostedService<BootstrapAdmin>();
        services.AddSingleton<IdentityRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<IdentityRetention>());

        services.AddHealthChecks()
            .AddCheck<IdentityStoreHealthCheck>("identity", Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, tags: [Hosting.MonkeyCoderServiceExtensions.ReadyTag]);
        return services;
    }

    /// <summary>Maps AuthService and ApiKeyService.</summary>
    public static IEndpointRouteBuilder MapMonkeyCoderAuth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<AuthApi>();
        endpoints.MapGrpcService<ApiKeyApi>();
        endpoints.MapGrpcService<UserApi>();
        return endpoints;
    }
}
