using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Calls;
using MonkeyCoder.Core.Caching;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Providers.Simulated;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Sessions;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Hosting;

/// <summary>Composition of Core for both hosts: <c>AddMonkeyCoder</c> registers, <c>MapMonkeyCoder</c> maps.</summary>
public static class MonkeyCoderServiceExtensions
{
    /// <summary>Health check tag for checks that decide readiness.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Health check tag for liveness: only the "process" check, which checks nothing external (a
    /// dependency outage must not restart pods). gRPC health "" and <c>/healthz</c>.
    /// </summary>
    public const string LiveTag = "live";

    /// <summary>
    /// Registers every Core feature and the gRPC server with the call pipeline's adapter. Returns the gRPC
    /// builder so the REST host can add JSON transcoding to the same services.
    /// </summary>
    public static IGrpcServerBuilder AddMonkeyCoder(this IServiceCollection services, IConfiguration configuration)
    {
        // Each options type: bound by the configuration source generator, validated at start.
        services.AddSingleton<IValidateOptions<HostingOptions>, HostingOptionsValidator>();
        services.AddOptions<HostingOptions>().Bind(configuration.GetSection(HostingOptions.Section)).ValidateOnStart();
        // Production refusals (no provider that can answer, …) are reported with the options errors.
        services.AddSingleton<IValidateOptions<HostingOptions>>(new DeploymentPolicyValidator(configuration));
        services.AddSingleton<IValidateOptions<SimulatedProviderOptions>, SimulatedProviderOptionsValidator>();
        services.AddOptions<SimulatedProviderOptions>().Bind(configuration.GetSection(SimulatedProviderOptions.Section)).ValidateOnStart()
            .PostConfigure(o => o.Enabled = DeploymentPolicy.SimulatedEnabled(configuration));
        services.AddOptions<CatalogOptions>().Bind(configuration.GetSection(CatalogOptions.Section));
        services.AddOptions<ModelAliasOptions>().Bind(configuration.GetSection(ModelAliasOptions.Section));

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TokenCounter>();
        services.AddSingleton(sp => ModelCatalog.Create(sp.GetRequiredService<IOptions<CatalogOptions>>(), sp.GetRequiredService<IOptions<ModelAliasOptions>>()));
        services.AddSingleton<ProviderRegistry>();
        services.AddSingleton<ProviderHealthMonitor>();

        services.AddSingleton<SimulatedMarket>();
        services.AddSingleton<IConfigureOptions<CatalogOptions>, ConfigureCatalogFromMarket>();
        services.AddSingleton<SimulatedProvider>();
        // On by default only in development and test; staging and production need SIMULATED_ENABLED=true.
        if (DeploymentPolicy.SimulatedEnabled(configuration))
        {
            services.AddSingleton<IProviderClient>(sp => sp.GetRequiredService<SimulatedProvider>());
        }

        if (DeploymentPolicy.SimulatedInProduction(configuration))
        {
            services.AddSingleton<SimulatedInProductionWarning>();
            services.AddHostedService(sp => sp.GetRequiredService<SimulatedInProductionWarning>());
        }

        services.AddMonkeyCoderProviders(configuration);

        services.AddSingleton<TaskAnalyzer>();
        services.AddMonkeyCoderRouting(configuration);
        services.AddMonkeyCoderExecution(configuration);
        services.AddSingleton<TaskRequestValidator>();
        services.AddHostedService<StartupWarmup>();
        services.AddMonkeyCoderObservability(configuration);
        services.AddSingleton<DrainDeadline>();
        services.AddMonkeyCoderAuth(configuration);
        services.AddMonkeyCoderLimits(configuration);
        // The call pipeline every edge runs (its order is written in Calls/CallPipeline.cs).
        services.AddMonkeyCoderCalls(configuration);
        services.AddMonkeyCoderShutdown();

        var health = services.AddGrpcHealthChecks(options =>
            {
                // Run checks on each Check call rather than serving a cached result that is
                // UNKNOWN until the first publish.
                options.UseHealthChecksCache = false;
                // "" is liveness: SERVING while the process answers gRPC, whatever PostgreSQL, Redis
                // or the providers do, so a dependency outage never restarts pods (probes use it).
                // Readiness is monkeycoder.v1.RouterService (every "ready" check).
                options.Services.Map("", r => r.Tags.Contains(LiveTag));
                options.Services.Map(RouterService.Descriptor.FullName, r => r.Tags.Contains(ReadyTag));
                options.Services.Map(ModelService.Descriptor.FullName, r => r.Name == "catalog");
            })
            .AddCheck("process", () => HealthCheckResult.Healthy("the process answers"), tags: [LiveTag])
            .AddCheck<CatalogHealthCheck>("catalog", tags: [ReadyTag])
            .AddCheck<ProvidersHealthCheck>("providers", HealthStatus.Degraded, tags: [ReadyTag]);
        if (DeploymentPolicy.SimulatedInProduction(configuration))
        {
            health.AddCheck<SimulatedInProductionWarning>("simulated", HealthStatus.Degraded, tags: [ReadyTag]);
        }

        // Readiness between probes: transitions logged once (ReadinessMonitor), not each check run at warning level.
        services.AddSingleton<IHealthCheckPublisher, ReadinessMonitor>();
        services.Configure<HealthCheckPublisherOptions>(o =>
        {
            o.Delay = TimeSpan.FromSeconds(2);
            o.Period = TimeSpan.FromSeconds(10);
        });
        services.AddLogging(b => b.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.Error));
        services.AddMonkeyCoderUsage(configuration, health);
        services.AddMonkeyCoderCaching(configuration);
        services.AddMonkeyCoderSessions(configuration);

        var grpc = services.AddGrpc(options =>
        {
            // Requests carry files: 1 MiB of content plus prompt and framing. Defaults to 4 MiB.
            options.MaxReceiveMessageSize = 4 * 1024 * 1024;
            options.EnableDetailedErrors = false;
        });
        // A body that is not valid protobuf: INVALID_ARGUMENT MALFORMED_REQUEST, not UNKNOWN (deserialized before any interceptor).
        services.AddMonkeyCoderMalformedRequestGuard();
        return grpc;
    }

    /// <summary>Maps the gRPC services and gRPC health.</summary>
    public static IEndpointRouteBuilder MapMonkeyCoder(this IEndpointRouteBuilder endpoints)
    {
        MalformedRequestGuard.EnsureGuarded(endpoints.ServiceProvider);
        endpoints.MapGrpcService<RouterApi>();
        endpoints.MapGrpcService<ModelApi>();
        endpoints.MapGrpcService<UsageApi>();
        endpoints.MapGrpcService<SessionApi>();
        endpoints.MapMonkeyCoderAuth();
        endpoints.MapGrpcHealthChecksService();
        return endpoints;
    }
}

/// <summary>
/// Builds the expensive singletons before the first request (catalog, router) so a bad catalog stops
/// the process at start and a cold burst does not stall on them, and starts the tokenizer's vocabulary
/// in the background: start-up does not wait for it, and nothing on the first call's path does either
/// (routing's token counts are upper bounds until it is ready, see <see cref="TokenCounter.UpperBound(string)"/>).
/// </summary>
internal sealed class StartupWarmup(IServiceProvider services) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<TokenCounter>().BeginLoad();
        _ = services.GetRequiredService<ModelCatalog>();
        _ = services.GetRequiredService<ITaskRouter>();
        // Connect to Redis now, not on the first request: a lazily connected multiplexer stalls a cold burst.
        _ = services.GetService<StackExchange.Redis.IConnectionMultiplexer>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
