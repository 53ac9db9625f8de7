using System.Globalization;
using System.Net;
using System.Text.Json;
using Grpc.Health.V1;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Hosting;

/// <summary>
/// What a host does with the configuration an operator gives it: production refuses to run on
/// the simulated provider by default, and a bad setting is one line naming the variable, the key,
/// the value and what is allowed, exit 2, no stack trace. Both hosts.
/// </summary>
public sealed class StartupConfigurationTests
{
    private const string JwtKey = "e2e-production-signing-key-0123456789abcdef";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Hosts => new() { "service", "gateway" };

    private static Task<(int ExitCode, string Output)> RunAsync(string host, Dictionary<string, string> environment)
    {
        environment["PORT"] = HostProcess.FreePort().ToString(CultureInfo.InvariantCulture);
        environment["METRICS_PORT"] = HostProcess.FreePort().ToString(CultureInfo.InvariantCulture);
        environment["BIND_ADDRESS"] = "127.0.0.1";
        // Never the caller's keys: the production refusal is about no provider being configured.
        foreach (var key in new[] { "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GROQ_API_KEY", "XAI_API_KEY" })
        {
            environment.TryAdd(key, "");
        }

        return host == "service"
            ? HostProcess.RunServiceCommandAsync(environment, Limit)
            : HostProcess.RunGatewayCommandAsync(environment, Limit);
    }

    private static void AssertNoStackTrace(string output)
    {
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception:", output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Hosts))]
    public async Task Start_ProductionWithSimulatedAtItsDefaultAndNoProvider_RefusesWithOneClearLine(string host)
    {
        var (exitCode, output) = await RunAsync(host, new() { ["ENVIRONMENT"] = "production", ["JWT_SECRET_KEY"] = JwtKey });

        Assert.True(exitCode == 2, $"exit {exitCode}:\n{output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("monkey-coder: configuration error:", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.Contains("no AI provider is configured and ENVIRONMENT is production", line, StringComparison.Ordinal);
        Assert.Contains("OPENAI_API_KEY", line, StringComparison.Ordinal);
        Assert.Contains("SIMULATED_ENABLED=true", line, StringComparison.Ordinal);
        AssertNoStackTrace(output);
    }

    [Theory]
    [MemberData(nameof(Hosts))]
    public async Task Start_BadSettings_OneLinePerSettingWithVariableKeyValueAndRange_Exit2(string host)
    {
        var (exitCode, output) = await RunAsync(host, new()
        {
            ["RATE_LIMIT_REQUESTS_PER_MINUTE"] = "0",
            ["DRAIN_SECONDS"] = "-5",
            ["SENTRY_SAMPLE_RATE"] = "2",
            ["MonkeyCoder__Execution__MaxRetriesPerCandidate"] = "99",
            ["JWT_SECRET_KEY"] = "too-short-but-secret",
        });

        Assert.True(exitCode == 2, $"exit {exitCode}:\n{output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("monkey-coder: configuration error:", StringComparison.Ordinal)).ToList();
        Assert.Contains("monkey-coder: configuration error: RATE_LIMIT_REQUESTS_PER_MINUTE (MonkeyCoder:Limits:RequestsPerMinute) = \"0\": must be between 1 and 10000000.", lines);
        Assert.Contains("monkey-coder: configuration error: DRAIN_SECONDS (MonkeyCoder:Hosting:DrainSeconds) = \"-5\": must be between 0 and 3600.", lines);
        Assert.Contains("monkey-coder: configuration error: SENTRY_SAMPLE_RATE (MonkeyCoder:Sentry:SampleRate) = \"2\": must be between 0 and 1.", lines);
        Assert.Contains("monkey-coder: configuration error: MonkeyCoder__Execution__MaxRetriesPerCandidate (MonkeyCoder:Execution:MaxRetriesPerCandidate) = \"99\": must be between 0 and 10.", lines);
        Assert.Contains("monkey-coder: configuration error: JWT_SECRET_KEY (MonkeyCoder:Auth:JwtSecretKey) = set (value hidden): must be 32 to 4096 characters.", lines);
        Assert.Equal(5, lines.Count);
        Assert.DoesNotContain("too-short-but-secret", output, StringComparison.Ordinal);
        AssertNoStackTrace(output);
    }

    [Theory]
    [MemberData(nameof(Hosts))]
    public async Task Start_UnreadableValue_NamesVariableKeyAndExpectedForm_Exit2(string host)
    {
        var (exitCode, output) = await RunAsync(host, new() { ["RATE_LIMIT_REQUESTS_PER_MINUTE"] = "lots" });

        Assert.True(exitCode == 2, $"exit {exitCode}:\n{output}");
        Assert.Contains("monkey-coder: configuration error: RATE_LIMIT_REQUESTS_PER_MINUTE (MonkeyCoder:Limits:RequestsPerMinute) = \"lots\": must be a whole number", output, StringComparison.Ordinal);
        AssertNoStackTrace(output);
    }

    [Fact]
    public async Task Start_ProductionWithSimulatedEnabledOnPurpose_WarnsAtStartAndInReadinessDetail()
    {
        await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string>
        {
            ["ENVIRONMENT"] = "production",
            ["JWT_SECRET_KEY"] = JwtKey,
            ["SIMULATED_ENABLED"] = "true",
        });
        Assert.True(await host.WaitForOutputAsync(l => l.Contains("\"EventId\":1060", StringComparison.Ordinal) && l.Contains("SIMULATED_ENABLED=true", StringComparison.Ordinal), TimeSpan.FromSeconds(10)),
            string.Join('\n', host.Output));

        using var http = new HttpClient { BaseAddress = host.MetricsAddress, Timeout = TimeSpan.FromSeconds(10) };
        using var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("degraded", body.RootElement.GetProperty("status").GetString());
        var simulated = body.RootElement.GetProperty("checks").GetProperty("simulated");
        Assert.Equal("degraded", simulated.GetProperty("status").GetString());
        Assert.Contains("SIMULATED_ENABLED=true", simulated.GetProperty("description").GetString(), StringComparison.Ordinal);

        using var channel = GrpcChannel.ForAddress(host.Address);
        var health = new Health.HealthClient(channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await health.CheckAsync(new HealthCheckRequest { Service = RouterService.Descriptor.FullName }, deadline: DateTime.UtcNow.AddSeconds(10))).Status);
    }

    [Fact]
    public async Task Start_StagingWithoutSimulatedEnabled_SimulatedProviderIsOff()
    {
        // Off unless enabled explicitly outside development/test: staging with no provider starts but is not ready.
        await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string> { ["ENVIRONMENT"] = "staging" });
        using var http = new HttpClient { BaseAddress = host.MetricsAddress, Timeout = TimeSpan.FromSeconds(10) };
        using var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("unhealthy", body.RootElement.GetProperty("checks").GetProperty("catalog").GetProperty("status").GetString());

        // The image's readiness healthcheck command fails too (exit 1), saying NotServing.
        var port = new Dictionary<string, string> { ["PORT"] = host.Port.ToString(CultureInfo.InvariantCulture) };
        var (notReady, output) = await HostProcess.RunServiceCommandAsync(port, TimeSpan.FromSeconds(30), "healthcheck", RouterService.Descriptor.FullName);
        Assert.True(notReady == 1, output);
        Assert.Contains("NotServing", output, StringComparison.Ordinal);
    }
}
