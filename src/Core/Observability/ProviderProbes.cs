using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Observability;

/// <summary>The result of one probe. <see cref="Detail"/> is shown to operators: never a secret or a URL with a key.</summary>
internal readonly record struct ProbeResult(bool Healthy, string Detail)
{
    public static ProbeResult Ok(string detail = "ok") => new(true, detail);

    public static ProbeResult Failed(string detail) => new(false, detail);
}

/// <summary>
/// A cheap active check of one provider (e.g. GET /models with the provider's key), run in the
/// background every <see cref="ProbeOptions.IntervalSeconds"/>. Register implementations as
/// <c>IProviderProbe</c> singletons, or let the provider client implement it; a provider without a
/// probe is watched through passive signals only. A probe must not spend tokens.
/// </summary>
internal interface IProviderProbe
{
    /// <summary>The provider probed, e.g. "openai".</summary>
    string Provider { get; }

    /// <summary>Throwing counts as a failed probe (the exception type is the detail).</summary>
    Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken);
}

/// <summary>The simulated provider lives in-process: its probe checks the tokenizer it generates with still works.</summary>
internal sealed class SimulatedProviderProbe(TokenCounter tokens) : IProviderProbe
{
    public string Provider => Providers.Simulated.SimulatedProvider.Name;

    public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) =>
        Task.FromResult(tokens.Count("probe") > 0 ? ProbeResult.Ok("in-process") : ProbeResult.Failed("tokenizer returned no tokens"));
}

/// <summary>GET a configured URL (<see cref="ProbeOptions.Urls"/>); any 2xx is healthy.</summary>
internal sealed class HttpEndpointProbe(string provider, Uri url, HttpClient http) : IProviderProbe
{
    public string Provider => provider;

    public async Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var code = (int)response.StatusCode;
        return response.IsSuccessStatusCode ? ProbeResult.Ok($"HTTP {code}") : ProbeResult.Failed($"HTTP {code}");
    }
}

/// <summary>
/// Probes every enabled provider that has a probe, at start and then every interval (on the
/// injected <see cref="TimeProvider"/>), and feeds <see cref="ProviderHealthMonitor"/>.
/// </summary>
internal sealed partial class ProviderProbeService(
    ProviderRegistry providers,
    ProviderHealthMonitor health,
    IEnumerable<IProviderProbe> registered,
    IOptions<ProbeOptions> options,
    IHttpClientFactory httpClients,
    TimeProvider time,
    ILogger<ProviderProbeService> logger) : BackgroundService
{
    public const string HttpClientName = "monkeycoder-probe";

    private readonly ProbeOptions _options = options.Value;

    /// <summary>The probe used per enabled provider: configured URL, then a registered probe, then the client itself.</summary>
    public IReadOnlyDictionary<string, IProviderProbe> Probes { get; } = Resolve(providers, registered, options.Value, httpClients);

    /// <summary>Probes every provider once, in parallel, each under the probe timeout.</summary>
    public async Task ProbeAllAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(Probes.Values.Select(p => ProbeOneAsync(p, cancellationToken)));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        health.ProbeUnhealthyAfter = _options.UnhealthyAfter;
        foreach (var provider in providers.Enabled)
        {
            health.Track(provider);
        }

        if (Probes.Count == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.IntervalSeconds), time);
        try
        {
            do
            {
                await ProbeAllAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ProbeOneAsync(IProviderProbe probe, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.TimeoutSeconds));
        ProbeResult result;
        try
        {
            result = await probe.ProbeAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (OperationCanceledException)
        {
            result = ProbeResult.Failed("timed out");
        }
        catch (Exception ex)
        {
            // The type only: messages of network errors can carry URLs.
            result = ProbeResult.Failed(ex.InnerException is { } inner ? $"{ex.GetType().Name} ({inner.GetType().Name})" : ex.GetType().Name);
        }

        if (!result.Healthy)
        {
            Log.ProbeFailed(logger, probe.Provider, result.Detail);
        }

        health.RecordProbe(probe.Provider, result.Healthy, result.Detail);
    }

    private static Dictionary<string, IProviderProbe> Resolve(ProviderRegistry providers, IEnumerable<IProviderProbe> registered, ProbeOptions options, IHttpClientFactory httpClients)
    {
        var byName = new Dictionary<string, IProviderProbe>(StringComparer.OrdinalIgnoreCase);
        foreach (var provider in providers.Enabled)
        {
            if (options.Urls.TryGetValue(provider, out var url) && Uri.TryCreate(url, UriKind.Absolute, out var uri))
            {
                byName[provider] = new HttpEndpointProbe(provider, uri, httpClients.CreateClient(HttpClientName));
            }
            else if (registered.FirstOrDefault(p => string.Equals(p.Provider, provider, StringComparison.OrdinalIgnoreCase)) is { } probe)
            {
                byName[provider] = probe;
            }
            else if (providers.Get(provider) is IProviderProbe self)
            {
                byName[provider] = self;
            }
        }

        return byName;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.ProbeFailed, Level = LogLevel.Warning,
            Message = "Probe of provider {Provider} failed: {Detail}")]
        public static partial void ProbeFailed(ILogger logger, string provider, string detail);
    }
}

/// <summary>A health check per enabled provider ("provider/&lt;name&gt;"), served by gRPC health under that name.</summary>
internal sealed class ProviderHealthCheck(string provider, ProviderHealthMonitor monitor) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = monitor.Get(provider);
        return Task.FromResult(health.State switch
        {
            MonkeyCoder.V1.HealthState.Unhealthy => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy(health.Detail),
            MonkeyCoder.V1.HealthState.Degraded => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Degraded(health.Detail),
            _ => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy(health.Detail),
        });
    }
}
