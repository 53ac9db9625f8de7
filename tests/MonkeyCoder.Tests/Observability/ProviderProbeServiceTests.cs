using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Observability;

public sealed class ProviderProbeServiceTests
{
    [Fact]
    public async Task ProbeLoop_ProbeStartsFailing_UnhealthyAfterThresholdOnFakeTime()
    {
        var time = new FakeTimeProvider();
        var monitor = new ProviderHealthMonitor(time);
        var probe = new SwitchProbe("fake");
        var registry = new ProviderRegistry([new NamedClient("fake")]);
        var options = Options.Create(new ProbeOptions { IntervalSeconds = 10, UnhealthyAfter = 2 });
        using var service = new ProviderProbeService(registry, monitor, [probe], options, new NoHttp(), time, NullLogger<ProviderProbeService>.Instance);

        await service.StartAsync(CancellationToken.None);
        await WaitAsync(() => probe.Calls >= 1);
        Assert.Equal(HealthState.Healthy, monitor.Get("fake").State);

        probe.Healthy = false;
        time.Advance(TimeSpan.FromSeconds(10));
        await WaitAsync(() => probe.Calls >= 2);
        Assert.Equal(HealthState.Healthy, monitor.Get("fake").State); // one failure is not enough

        time.Advance(TimeSpan.FromSeconds(10));
        await WaitAsync(() => probe.Calls >= 3);
        await WaitAsync(() => monitor.Get("fake").State == HealthState.Unhealthy);
        Assert.Equal(HealthState.Unhealthy, monitor.Get("fake").State);

        probe.Healthy = true;
        time.Advance(TimeSpan.FromSeconds(10));
        await WaitAsync(() => monitor.Get("fake").State == HealthState.Healthy);
        Assert.Equal(HealthState.Healthy, monitor.Get("fake").State);
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void Probes_ConfiguredUrl_WinsOverRegisteredProbe()
    {
        var registry = new ProviderRegistry([new NamedClient("fake"), new NamedClient("other")]);
        var options = Options.Create(new ProbeOptions { Urls = new(StringComparer.OrdinalIgnoreCase) { ["fake"] = "http://127.0.0.1:9/v1/models" } });
        using var service = new ProviderProbeService(registry, new ProviderHealthMonitor(), [new SwitchProbe("fake")], options, new NoHttp(),
            TimeProvider.System, NullLogger<ProviderProbeService>.Instance);

        Assert.IsType<HttpEndpointProbe>(service.Probes["fake"]);
        Assert.False(service.Probes.ContainsKey("other")); // no probe: passive signals only
    }

    /// <summary>Bounded wait for background work that fake time released (no sleeping for logic).</summary>
    private static async Task WaitAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10);
        }
    }

    private sealed class SwitchProbe(string provider) : IProviderProbe
    {
        private int _calls;

        public string Provider => provider;

        public volatile bool Healthy = true;

        public int Calls => Volatile.Read(ref _calls);

        public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(Healthy ? ProbeResult.Ok() : ProbeResult.Failed("HTTP 503"));
        }
    }

    private sealed class NamedClient(string provider) : IProviderClient
    {
        public string Provider => provider;

        public Uri? BaseUrl => null;

        public Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class NoHttp : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new();
    }
}
