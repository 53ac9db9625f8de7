using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MonkeyCoder.Core.Configuration;

namespace MonkeyCoder.Core.Hosting;

/// <summary>Listening and lifetime settings shared by both hosts.</summary>
public static class MonkeyCoderHostingExtensions
{
    /// <summary>
    /// Listens on <c>BIND_ADDRESS</c>:<c>PORT</c> (or <paramref name="defaultPort"/>) with one protocol
    /// set: plaintext Kestrel cannot serve HTTP/2 prior knowledge and HTTP/1.1 on one port.
    /// </summary>
    public static IWebHostBuilder UseMonkeyCoderKestrel(this IWebHostBuilder webHost, IConfiguration configuration, int defaultPort, HttpProtocols protocols)
    {
        var port = configuration.GetValue(HostingOptions.Section + ":Port", 0);
        var bind = configuration.GetValue(HostingOptions.Section + ":BindAddress", "0.0.0.0") ?? "0.0.0.0";
        var drain = configuration.GetValue(HostingOptions.Section + ":DrainSeconds", 30);
        if (!IPAddress.TryParse(bind, out var address))
        {
            throw new InvalidOperationException($"BIND_ADDRESS (MonkeyCoder:Hosting:BindAddress) '{bind}' is not an IP address.");
        }

        webHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(address, port == 0 ? defaultPort : port, listen => listen.Protocols = protocols);
        });
        webHost.ConfigureServices(services => services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(drain)));
        return webHost;
    }

    /// <summary>
    /// <c>/healthz</c>: liveness, the process is up (no dependency is checked). <c>/readyz</c>: the pod
    /// can serve (200 while healthy or degraded, 503 when a check it cannot serve through fails),
    /// with each check's status and description as JSON.
    /// </summary>
    public static IEndpointRouteBuilder MapMonkeyCoderHttpHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = r => r.Tags.Contains(MonkeyCoderServiceExtensions.LiveTag) });
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(MonkeyCoderServiceExtensions.ReadyTag),
            ResponseWriter = ReadinessResponse.WriteAsync,
            ResultStatusCodes =
            {
                [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy] = StatusCodes.Status200OK,
                [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded] = StatusCodes.Status200OK,
                [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        return endpoints;
    }

    /// <summary>
    /// Runs the host until shutdown; returns the process exit code. A port already in use (or a
    /// certificate file that cannot be read) has been logged by the host: the process then exits 1
    /// with one line, instead of an unhandled-exception abort.
    /// </summary>
    public static async Task<int> RunMonkeyCoderAsync(this WebApplication app)
    {
        // Every option is validated here, before the host starts: a bad setting then reaches the
        // host's ConfigurationErrors.Report (one line per setting, exit 2) instead of the host's
        // "Hosting failed to start" log with a stack trace.
        app.Services.GetService<Microsoft.Extensions.Options.IStartupValidator>()?.Validate();
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine("monkey-coder: could not start: " + ex.Message);
            return 1;
        }
    }
}
