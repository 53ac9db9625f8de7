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
    /// <c>/healthz</c>: liveness, the process is up (no dependency is checked). <c>/readyz</c>: every
    /// readiness check passes (503 otherwise).
    /// </summary>
    public static IEndpointRouteBuilder MapMonkeyCoderHttpHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = r => r.Tags.Contains(MonkeyCoderServiceExtensions.LiveTag) });
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(MonkeyCoderServiceExtensions.ReadyTag),
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
