using System.Net;
using Grpc.Health.V1;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace MonkeyCoder.EndToEnd.Tests.Hosting;

/// <summary>
/// Liveness never depends on PostgreSQL or Redis (a dependency outage must not restart pods);
/// readiness does. The Service runs with REDIS_URL pointing at a port nobody listens on.
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
    public async Task Health_RedisUnreachable_LiveButNotReady()
    {
        using var http = new HttpClient { BaseAddress = _host.MetricsAddress, Timeout = TimeSpan.FromSeconds(10) };
        var health = new Health.HealthClient(_channel);
        async Task<ServingStatus> Check(string service) =>
            (await health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(10))).Status;

        // Liveness: the process answers, whatever Redis does.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(ServingStatus.Serving, await Check(""));

        // Readiness: the redis check fails.
        using var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(ServingStatus.NotServing, await Check("monkeycoder.v1.RouterService"));

        // The image's Docker HEALTHCHECK (liveness) passes; asked for readiness it fails.
        var port = new Dictionary<string, string> { ["PORT"] = _host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var (live, liveOutput) = await HostProcess.RunServiceCommandAsync(port, TimeSpan.FromSeconds(30), "healthcheck");
        Assert.True(live == 0, liveOutput);
        var (notReady, readyOutput) = await HostProcess.RunServiceCommandAsync(port, TimeSpan.FromSeconds(30), "healthcheck", "monkeycoder.v1.RouterService");
        Assert.True(notReady == 1, readyOutput);
        Assert.Contains("NotServing", readyOutput, StringComparison.Ordinal);
    }
}
