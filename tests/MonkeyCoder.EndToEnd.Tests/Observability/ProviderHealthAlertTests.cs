using System.Text.Json;
using Grpc.Health.V1;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Observability;

/// <summary>
/// A provider's health endpoint is a local HTTP server (the probe GETs its model list); stopping the
/// server must turn the provider unhealthy everywhere (ListProviders, gRPC health, metrics) and post
/// exactly one Slack-compatible alert to the local webhook receiver.
/// </summary>
public sealed class ProviderHealthAlertTests
{
    [Fact]
    public async Task ProviderEndpointStops_TurnsUnhealthyAndPostsOneAlert()
    {
        using var provider = new LocalHttpReceiver(200, """{"object":"list","data":[{"id":"sim-1"}]}""");
        using var webhook = new LocalHttpReceiver(200, "ok");
        await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string>
        {
            ["MonkeyCoder__Probes__Urls__simulated"] = new Uri(provider.Address, "v1/models").ToString(),
            ["PROBE_INTERVAL_SECONDS"] = "0.2",
            ["MonkeyCoder__Probes__TimeoutSeconds"] = "1",
            ["ALERT_WEBHOOK_URL"] = webhook.Address.ToString(),
        });
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var models = new ModelService.ModelServiceClient(channel);
        var health = new Health.HealthClient(channel);

        Assert.True(await provider.WaitForAsync(r => r.Count >= 2, TimeSpan.FromSeconds(10)), "the probe never called the provider");
        Assert.Equal(HealthState.Healthy, await StateAsync(models));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await health.CheckAsync(new HealthCheckRequest { Service = "provider/simulated" })).Status);

        provider.Stop();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (await StateAsync(models) != HealthState.Unhealthy && watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(100);
        }

        Assert.Equal(HealthState.Unhealthy, await StateAsync(models));
        Report.Write("provider-down-to-unhealthy-ms", watch.Elapsed.TotalMilliseconds);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing,
            (await health.CheckAsync(new HealthCheckRequest { Service = "provider/simulated" })).Status);

        Assert.True(await webhook.WaitForAsync(r => r.Count >= 1, TimeSpan.FromSeconds(10)), "no alert was posted");
        await Task.Delay(TimeSpan.FromSeconds(2)); // ten more failed probes: still one alert
        var alert = Assert.Single(webhook.Requests);
        Assert.Equal("POST", alert.Method);
        using var body = JsonDocument.Parse(alert.Body);
        var text = body.RootElement.GetProperty("text").GetString()!;
        Assert.Contains("`simulated` is unhealthy (was healthy)", text, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = host.MetricsAddress };
        var metrics = await MetricsTests.ScrapeUntilAsync(http, t => MetricsTests.Value(t, "monkeycoder_provider_health", "provider=\"simulated\"") == 0);
        Assert.Equal(0, MetricsTests.Value(metrics, "monkeycoder_provider_health", "provider=\"simulated\""));
    }

    private static async Task<HealthState> StateAsync(ModelService.ModelServiceClient models) =>
        (await models.ListProvidersAsync(new ListProvidersRequest())).Providers.Single(p => p.Name == "simulated").Health;
}
