using System.Net;
using Grpc.Health.V1;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace MonkeyCoder.EndToEnd.Tests.Hosting;

/// <summary>
/// Liveness never depends on PostgreSQL or Redis (a dependency outage must not restart pods), and
/// readiness stays passing through an outage the service serves through, reporting it as degraded.
/// The Service runs with REDIS_URL pointing at a port nobody listens on. (ReadinessOutageTests
/// stops PostgreSQL and Redis under running hosts; StartupConfigurationTests has the unready case.)
/// </summary>
public sealed class LivenessReadinessTests : IAsyncLifetime
{
    private HostProcess _host = null!;
    private GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _host = await HostProcess.StartServiceAsync(new Dictionary<string, string>
        {
            ["REDIS_URL"] = $"redis://127.0.0.1:{HostProcess.FreePort()}",
        });
        _channel = GrpcChannel.ForAddress(_host.Address);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Health_RedisUnreachable_LiveAndReadyWithRedisDegraded()
    {
        using var http = new HttpClient { BaseAddress = _host.MetricsAddress, Timeout = TimeSpan.FromSeconds(10) };
        var health = new Health.HealthClient(_channel);
        async Task<ServingStatus> Check(string service) =>
            (await health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(10))).Status;

        // Liveness: the process answers, whatever Redis does.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(ServingStatus.Serving, await Check(""));

        // Readiness: limits, breakers and the cache serve in-process without Redis, so still ready; the detail says redis is degraded.
        using var ready = await http.GetAsync("/readyz");
        var detail = await ready.Content.ReadAsStringAsync();
        Assert.True(ready.StatusCode == HttpStatusCode.OK, detail);
        using (var body = System.Text.Json.JsonDocument.Parse(detail))
        {
            var redis = body.RootElement.GetProperty("checks").GetProperty("redis");
            Assert.Equal("degraded", redis.GetProperty("status").GetString());
            Assert.Contains("redis unreachable", redis.GetProperty("description").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(ServingStatus.Serving, await Check("monkeycoder.v1.RouterService"));

        // The image's Docker HEALTHCHECK (liveness) passes, and so does readiness.
        var port = new Dictionary<string, string> { ["PORT"] = _host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var (live, liveOutput) = await HostProcess.RunServiceCommandAsync(port, TimeSpan.FromSeconds(30), "healthcheck");
        Assert.True(live == 0, liveOutput);
        var (isReady, readyOutput) = await HostProcess.RunServiceCommandAsync(port, TimeSpan.FromSeconds(30), "healthcheck", "monkeycoder.v1.RouterService");
        Assert.True(isReady == 0, readyOutput);
    }
}
