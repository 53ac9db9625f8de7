using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Health.V1;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.EndToEnd.Tests.Usage;
using MonkeyCoder.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace MonkeyCoder.EndToEnd.Tests.Hosting;

/// <summary>
/// Readiness means "can serve": with PostgreSQL stopped (the shared server: this runs in the
/// outage collection, alone) and Redis stopped (a redis-server of this test's own), both hosts stay
/// ready on both probe kinds, say what is degraded (readiness detail, metric, log) and answer calls.
/// </summary>
[Collection(OutageCollection.Name)]
public sealed class ReadinessOutageTests : IAsyncLifetime
{
    private Process _redis = null!;
    private HostProcess _service = null!;
    private HostProcess _gateway = null!;

    public async Task InitializeAsync()
    {
        var redisPort = HostProcess.FreePort();
        _redis = Process.Start(new ProcessStartInfo("redis-server", ["--port", redisPort.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("redis-server did not start");
        _redis.BeginOutputReadLine();
        var environment = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = await TestServers.CreateDatabaseAsync(),
            ["REDIS_URL"] = $"redis://127.0.0.1:{redisPort}",
            ["USAGE_SPILL_PATH"] = Path.Combine(Path.GetTempPath(), "mc-ready-spill-" + Guid.NewGuid().ToString("N")[..8]),
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "20",
            ["SIMULATED_TOKENS_PER_SECOND"] = "2000",
        };
        await WaitForRedisAsync(redisPort);
        var service = HostProcess.StartServiceAsync(environment);
        var gateway = HostProcess.StartGatewayAsync(environment);
        _service = await service;
        _gateway = await gateway;
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _gateway.DisposeAsync();
        if (!_redis.HasExited)
        {
            _redis.Kill();
        }

        _redis.Dispose();
    }

    [Fact]
    public async Task Readiness_PostgresAndRedisStopped_StaysReadyReportsDegradedAndAnswers()
    {
        using var channel = ServiceFixture.AuthenticatedChannel(_service.Address, ServiceFixture.AdminKey);
        var router = new RouterService.RouterServiceClient(channel);
        var health = new Health.HealthClient(channel);
        using var serviceHttp = new HttpClient { BaseAddress = _service.MetricsAddress, Timeout = TimeSpan.FromSeconds(15) };
        using var gatewayHttp = new HttpClient { BaseAddress = _gateway.Address, Timeout = TimeSpan.FromSeconds(15) };
        gatewayHttp.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
        // The REST host serves /metrics on its own metrics port, not on the public one.
        using var gatewayMetrics = new HttpClient { BaseAddress = _gateway.MetricsAddress, Timeout = TimeSpan.FromSeconds(15) };

        // Before: both healthy, and the admin key is validated once on each host (then served within its stale window).
        await router.ExecuteAsync(StorageFixture.SmallTask("before the outage"), deadline: DateTime.UtcNow.AddSeconds(15));
        Assert.Equal(HttpStatusCode.OK, (await ExecuteRestAsync(gatewayHttp, "before the outage")).StatusCode);
        Assert.Equal("healthy", await CheckStatusAsync(serviceHttp, "postgresql"));
        Assert.Equal("healthy", await CheckStatusAsync(gatewayHttp, "redis"));

        try
        {
            await TestServers.StopPostgresAsync();
            _redis.Kill();
            await _redis.WaitForExitAsync();

            foreach (var (name, http, host) in new[] { ("service", serviceHttp, _service), ("gateway", gatewayHttp, _gateway) })
            {
                // REST probe: 200 (ready) with the degradation in the detail.
                using var body = await ReadyAsync(http, name);
                var checks = body.RootElement.GetProperty("checks");
                Assert.Equal("degraded", body.RootElement.GetProperty("status").GetString());
                Assert.Equal("degraded", checks.GetProperty("postgresql").GetProperty("status").GetString());
                Assert.Equal("degraded", checks.GetProperty("redis").GetProperty("status").GetString());
                Assert.Contains("postgresql unreachable", checks.GetProperty("postgresql").GetProperty("description").GetString(), StringComparison.Ordinal);

                // Log: one warning per degraded check (from the periodic readiness publisher, every 10 s).
                Assert.True(await host.WaitForOutputAsync(l => l.Contains("Readiness check postgresql is degraded", StringComparison.Ordinal), TimeSpan.FromSeconds(30)),
                    $"{name}: no degraded log line:\n{string.Join('\n', host.Output)}");
                Assert.True(await host.WaitForOutputAsync(l => l.Contains("Readiness check redis is degraded", StringComparison.Ordinal), TimeSpan.FromSeconds(30)),
                    $"{name}: no degraded log line for redis");

                // Metric: 1 = degraded.
                var metrics = await (name == "service" ? serviceHttp : gatewayMetrics).GetStringAsync("/metrics");
                Assert.Matches("monkeycoder_readiness_check\\{[^}]*check=\"postgresql\"[^}]*\\} 1\\b", metrics);
                Assert.Matches("monkeycoder_readiness_check\\{[^}]*check=\"redis\"[^}]*\\} 1\\b", metrics);
            }

            // gRPC probe of the Service (its port is HTTP/2 only) and the images' healthcheck commands for readiness.
            Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = RouterService.Descriptor.FullName }, deadline: DateTime.UtcNow.AddSeconds(15))).Status);
            var port = new Dictionary<string, string> { ["PORT"] = _service.Port.ToString(CultureInfo.InvariantCulture) };
            var (ready, readyOutput) = await HostProcess.RunServiceCommandAsync(port, TimeSpan.FromSeconds(30), "healthcheck", RouterService.Descriptor.FullName);
            Assert.True(ready == 0, readyOutput);
            var gatewayPort = new Dictionary<string, string> { ["PORT"] = _gateway.Port.ToString(CultureInfo.InvariantCulture) };
            var (gatewayReady, gatewayOutput) = await HostProcess.RunGatewayCommandAsync(gatewayPort, TimeSpan.FromSeconds(30), "healthcheck", "/readyz");
            Assert.True(gatewayReady == 0, gatewayOutput);

            // Calls are still answered on both hosts.
            for (var i = 0; i < 5; i++)
            {
                var answer = await router.ExecuteAsync(StorageFixture.SmallTask($"during the outage {i} {Guid.NewGuid():N}"), deadline: DateTime.UtcNow.AddSeconds(20));
                Assert.Equal(ExecutionStatus.Completed, answer.Status);
                using var rest = await ExecuteRestAsync(gatewayHttp, $"during the outage {i} {Guid.NewGuid():N}");
                Assert.True(rest.StatusCode == HttpStatusCode.OK, await rest.Content.ReadAsStringAsync());
            }
        }
        finally
        {
            await TestServers.StartPostgresAsync();
        }

        // PostgreSQL back: its check turns healthy again and says so once.
        Assert.True(await _service.WaitForOutputAsync(l => l.Contains("Readiness check postgresql is healthy again", StringComparison.Ordinal), TimeSpan.FromSeconds(40)),
            string.Join('\n', _service.Output));
    }

    private static Task<HttpResponseMessage> ExecuteRestAsync(HttpClient http, string prompt) =>
        http.PostAsync("/v1/execute", new StringContent(
            JsonSerializer.Serialize(new { taskType = "TASK_TYPE_CODE_GENERATION", prompt, maxTokens = 40 }), Encoding.UTF8, "application/json"));

    private static async Task<string?> CheckStatusAsync(HttpClient http, string check)
    {
        using var body = await ReadyAsync(http, "host");
        return body.RootElement.GetProperty("checks").GetProperty(check).GetProperty("status").GetString();
    }

    private static async Task<JsonDocument> ReadyAsync(HttpClient http, string name)
    {
        using var response = await http.GetAsync("/readyz");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name} /readyz {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text);
    }

    private static async Task WaitForRedisAsync(int port)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"redis-server did not listen on {port}");
    }
}
