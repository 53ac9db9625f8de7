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

    /// <summary>
    /// No probe URL configured: the OpenAI client probes its own provider (GET /v1/models with the
    /// key). A fake OpenAI server that stops answering turns "openai" unhealthy with one alert.
    /// </summary>
    [Fact]
    public async Task ProviderClientProbe_FakeProviderStops_TurnsUnhealthyAndPostsOneAlert()
    {
        var fake = await Fakes.FakeOpenAiServer.StartNewAsync("openai");
        using var webhook = new LocalHttpReceiver(200, "ok");
        await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string>
        {
            ["OPENAI_API_KEY"] = fake.ApiKey,
            ["OPENAI_BASE_URL"] = fake.BaseUrl.ToString(),
            ["PROBE_INTERVAL_SECONDS"] = "0.2",
            ["MonkeyCoder__Probes__TimeoutSeconds"] = "1",
            ["ALERT_WEBHOOK_URL"] = webhook.Address.ToString(),
        });
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var models = new ModelService.ModelServiceClient(channel);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (fake.ModelListCount < 2 && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        Assert.True(fake.ModelListCount >= 2, "the OpenAI client never probed its provider");
        Assert.Equal(0, fake.RequestCount);
        Assert.Equal(HealthState.Healthy, await StateAsync(models, "openai"));

        await fake.DisposeAsync();
        watch.Restart();
        while (await StateAsync(models, "openai") != HealthState.Unhealthy && watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(100);
        }

        Assert.Equal(HealthState.Unhealthy, await StateAsync(models, "openai"));
        Assert.True(await webhook.WaitForAsync(r => r.Count >= 1, TimeSpan.FromSeconds(10)), "no alert was posted");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var alert = Assert.Single(webhook.Requests);
        using var body = JsonDocument.Parse(alert.Body);
        Assert.Contains("`openai` is unhealthy (was healthy)", body.RootElement.GetProperty("text").GetString()!, StringComparison.Ordinal);
        Assert.DoesNotContain(fake.ApiKey, alert.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(fake.ApiKey, string.Join('\n', host.Output), StringComparison.Ordinal);
    }

    private static async Task<HealthState> StateAsync(ModelService.ModelServiceClient models, string provider = "simulated") =>
        (await models.ListProvidersAsync(new ListProvidersRequest())).Providers.Single(p => p.Name == provider).Health;
}
