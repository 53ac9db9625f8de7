using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Observability;

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
