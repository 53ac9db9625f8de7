using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.Core.Storage;
using Npgsql;
using StackExchange.Redis;

namespace MonkeyCoder.Core.Auth;

/// <summary>Storage clients, identity, API keys, the auth and rate-limit interceptors, and limits.</summary>
internal static class AuthServiceExtensions
{
    /// <summary>
    /// Registers storage (shared data source and multiplexer), identity (PostgreSQL or embedded),
    /// limits (Redis or embedded) and appends the auth then rate-limit interceptors after those
    /// configured by <c>AddGrpc</c> (the error interceptor stays outermost).
    /// </summary>
    public static IServiceCollection AddMonkeyCoderAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        var production = string.Equals(configuration.GetValue(HostingOptions.Section + ":Environment", "development"), "production", StringComparison.OrdinalIgnoreCase);
        // Sign-up is closed in production unless the operator opted in (AUTH_ALLOW_SIGN_UP=true).
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section)).Configure(o => o.AllowSignUp ??= !production).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LimitOptions>, LimitOptionsValidator>();
        services.AddOptions<LimitOptions>().Bind(configuration.GetSection(LimitOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AnonymousLimitOptions>, AnonymousLimitOptionsValidator>();
        services.AddOptions<AnonymousLimitOptions>().Bind(configuration.GetSection(AnonymousLimitOptions.Section)).ValidateOnStart();

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
        var redis = !string.IsNullOrWhiteSpace(configuration[StorageServiceExtensions.RedisUrlKey]);

        if (database)
        {
            services.AddSingleton<IIdentityStore>(sp => new PostgresIdentityStore(sp.GetRequiredService<NpgsqlDataSource>()));
        }
        else
        {
            services.AddSingleton<IIdentityStore, InMemoryIdentityStore>();
        }

        // The in-process limiter: the limiter without Redis, and this replica's fallback while Redis is unreachable.
        services.AddSingleton<InMemoryRateLimiter>();
        if (redis)
        {
            services.AddSingleton<IRateLimiter>(sp => new RedisRateLimiter(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<Observability.MonkeyCoderMetrics>(),
                sp.GetService<Usage.IUsageStore>(), sp.GetService<Microsoft.Extensions.Logging.ILogger<RedisRateLimiter>>()));
        }
        else
        {
            services.AddSingleton<IRateLimiter>(sp => sp.GetRequiredService<InMemoryRateLimiter>());
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
        services.AddSingleton<AuthInterceptor>();
        services.AddSingleton<RateLimitInterceptor>();
        // Budgets: worst-case holds, this replica's share while Redis is unreachable, threshold alerts.
        services.AddSingleton<WorstCaseCost>();
        services.AddSingleton<OutageBudget>();
        services.AddSingleton<BudgetAlerts>();
        if (redis)
        {
            services.AddHostedService<ReplicaCensus>();
        }

        services.AddSingleton<AnonymousLimiter>();
        services.AddSingleton<AnonymousLimitInterceptor>();
        // The HTTP edge (OpenAI-compatible endpoints) authenticates and limits exactly like gRPC.
        services.AddHttpContextAccessor();
        services.AddSingleton<Edge.IEdgeAuthenticator, EdgeAuthenticator>();
        services.AddSingleton<Edge.IEdgeRequestLimiter, Limits.EdgeRequestLimiter>();
        // After StorageStartup (registered above), so migrations ran before the first admin key is written.
        services.AddHostedService<BootstrapAdmin>();
        services.AddSingleton<IdentityRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<IdentityRetention>());
        services.AddHostedService<LimitsStartup>();

        services.AddHealthChecks()
            .AddCheck<IdentityStoreHealthCheck>("identity", Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, tags: [Hosting.MonkeyCoderServiceExtensions.ReadyTag]);

        // PostConfigure runs after AddGrpc's own configuration: ErrorInterceptor first (outermost), then
        // the anonymous sign-in limits (before any password is hashed), auth, then per-principal limits.
        services.PostConfigure<GrpcServiceOptions>(options =>
        {
            options.Interceptors.Add<AnonymousLimitInterceptor>();
            options.Interceptors.Add<AuthInterceptor>();
            options.Interceptors.Add<RateLimitInterceptor>();
        });
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
