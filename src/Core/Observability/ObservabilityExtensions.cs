using System.Net;
using Grpc.AspNetCore.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Hosting;
using MonkeyCoder.Core.Providers;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MonkeyCoder.Core.Observability;

/// <summary>Composition of monitoring: metrics, Sentry, probes, alerts, per-provider health, production logs.</summary>
public static class ObservabilityExtensions
{
    /// <summary>Health check tag of the per-provider checks ("provider/&lt;name&gt;"); they do not decide readiness.</summary>
    public const string ProviderTag = "provider";

    /// <summary>
    /// Registers everything under Observability. The per-call telemetry is a step of the call pipeline
    /// (<c>Calls/TelemetryStep</c>), registered with it.
    /// </summary>
    public static IServiceCollection AddMonkeyCoderObservability(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<SentrySettings>, SentrySettingsValidator>();
        services.AddOptions<SentrySettings>().Bind(configuration.GetSection(SentrySettings.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();
        services.AddOptions<MetricsOptions>().Bind(configuration.GetSection(MetricsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertOptions>, AlertOptionsValidator>();
        services.AddOptions<AlertOptions>().Bind(configuration.GetSection(AlertOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ProbeOptions>, ProbeOptionsValidator>();
        services.AddOptions<ProbeOptions>().Bind(configuration.GetSection(ProbeOptions.Section)).ValidateOnStart();

        var environment = configuration[HostingOptions.Section + ":Environment"] ?? "development";
        var production = string.Equals(environment, "production", StringComparison.OrdinalIgnoreCase);

        // Metrics.
        services.AddSingleton<MonkeyCoderMetrics>();
        services.AddHostedService<EagerStart<MonkeyCoderMetrics>>();
        services.AddSingleton<IAttemptObserver, AttemptMetricsObserver>();
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("monkey-coder"))
            .WithMetrics(m => m
                .AddMeter(MonkeyCoderMetrics.MeterName)
                // http.server.active_requests: in-flight calls and open streams, the autoscaling signal (deploy/k8s).
                .AddMeter("Microsoft.AspNetCore.Hosting")
                .AddRuntimeInstrumentation()
                .AddProcessInstrumentation()
                .AddPrometheusExporter());

        // Traces: a span per call and per provider attempt, exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
        services.AddOptions<TracingOptions>().Bind(configuration.GetSection(TracingOptions.Section));
        services.AddSingleton<IAttemptObserver, AttemptTracingObserver>();
        if (!string.IsNullOrWhiteSpace(configuration[TracingOptions.EndpointVariable]) || !string.IsNullOrWhiteSpace(System.Environment.GetEnvironmentVariable(TracingOptions.EndpointVariable)))
        {
            services.AddOpenTelemetry().WithTracing(t => t
                .AddSource(MonkeyCoderTracing.SourceName)
                .AddOtlpExporter());
        }

        // Every log line written inside a span carries its trace and span ids (a logging scope).
        services.Configure<LoggerFactoryOptions>(o => o.ActivityTrackingOptions |= ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);

        // Errors: Sentry when SENTRY_DSN is set.
        if (!string.IsNullOrWhiteSpace(configuration[SentrySettings.Section + ":Dsn"]))
        {
            services.AddSingleton<SentryErrorReporter>();
            services.AddSingleton<IErrorReporter>(sp => sp.GetRequiredService<SentryErrorReporter>());
            services.AddHostedService<EagerStart<SentryErrorReporter>>();
        }
        else
        {
            services.AddSingleton<IErrorReporter, NullErrorReporter>();
        }

        // Health: probes, per-provider checks (gRPC health "provider/<name>"), alerts.
        services.AddHttpClient(ProviderProbeService.HttpClientName);
        services.AddHttpClient(ProviderAlertNotifier.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<IProviderProbe, SimulatedProviderProbe>();
        services.AddSingleton<ProviderProbeService>();
        services.AddHostedService(sp => sp.GetRequiredService<ProviderProbeService>());
        services.AddSingleton<ProviderAlertNotifier>();
        services.AddHostedService(sp => sp.GetRequiredService<ProviderAlertNotifier>());
        services.AddOptions<HealthCheckServiceOptions>().Configure<ProviderRegistry>((o, registry) =>
        {
            foreach (var provider in registry.Enabled)
            {
                o.Registrations.Add(new HealthCheckRegistration(
                    ProviderTag + "/" + provider,
                    sp => new ProviderHealthCheck(provider, sp.GetRequiredService<ProviderHealthMonitor>()),
                    HealthStatus.Unhealthy,
                    [ProviderTag]));
            }
        });
        services.AddOptions<GrpcHealthChecksOptions>().PostConfigure<ProviderRegistry>((o, registry) =>
        {
            // One name per provider. "" (liveness) and RouterService (readiness) are mapped in
            // AddMonkeyCoder and do not include these: the aggregate "providers" check decides readiness.
            foreach (var provider in registry.Enabled)
            {
                var name = ProviderTag + "/" + provider;
                o.Services.Map(name, r => r.Name == name);
            }
        });

        // Logs: one JSON object per line in production, with the request scope.
        if (production)
        {
            services.AddLogging(b => b.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            }));
        }

        return services;
    }

    /// <summary>
    /// An extra HTTP/1.1 listener on <c>METRICS_PORT</c> for Prometheus, so <c>/metrics</c> is never
    /// served on the public port: the Service (default 9464; its main port is HTTP/2 only, so HTTP
    /// health probes are served there too) and the REST host (default 9465, health stays on its main
    /// port). <c>METRICS_PORT=0</c> serves <c>/metrics</c> on the main port instead.
    /// </summary>
    public static IWebHostBuilder UseMonkeyCoderMetricsListener(this IWebHostBuilder webHost, IConfiguration configuration, int defaultPort = 9464, bool serveHealth = true)
    {
        var port = configuration.GetValue(MetricsOptions.Section + ":Port", defaultPort);
        if (port == 0)
        {
            return webHost;
        }

        var bind = configuration.GetValue(HostingOptions.Section + ":BindAddress", "0.0.0.0") ?? "0.0.0.0";
        var address = IPAddress.TryParse(bind, out var parsed) ? parsed : IPAddress.Any;
        webHost.ConfigureKestrel(k => k.Listen(address, port, l => l.Protocols = HttpProtocols.Http1));
        webHost.ConfigureServices(s => s.AddSingleton(new MetricsListener(port, serveHealth)));
        return webHost;
    }

    /// <summary>
    /// Maps <c>/metrics</c>: on the metrics listener's port when the host has one (then also
    /// <c>/healthz</c> and <c>/readyz</c> there), else on the host's main port.
    /// </summary>
    public static IEndpointRouteBuilder MapMonkeyCoderObservability(this IEndpointRouteBuilder endpoints)
    {
        var listener = endpoints.ServiceProvider.GetService<MetricsListener>();
        if (listener is null)
        {
            endpoints.MapPrometheusScrapingEndpoint("/metrics");
            return endpoints;
        }

        // Decided by the port the connection came in on, not the Host header (which any client sets).
        endpoints.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, configureBranchedPipeline: branch => branch.Use((context, next) =>
        {
            if (context.Connection.LocalPort == listener.Port)
            {
                return next(context);
            }

            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }), optionsName: null);
        if (listener.ServeHealth)
        {
            var host = "*:" + listener.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var health = endpoints.MapGroup("").RequireHost(host);
            health.MapMonkeyCoderHttpHealth();
        }

        return endpoints;
    }
}

/// <summary>The extra metrics listener's port, when the host has one.</summary>
internal sealed record MetricsListener(int Port, bool ServeHealth = true);

/// <summary>Resolves a singleton at start so its set-up (and any configuration error) happens before traffic.</summary>
internal sealed class EagerStart<T>(T service) : IHostedService
    where T : notnull
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(service);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
