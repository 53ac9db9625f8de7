using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Observability;

/// <summary>/metrics on the Service's metrics port and on the REST host after real calls.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task ServiceMetricsPort_AfterCalls_ShowsRequestProviderAndProcessSeries()
    {
        await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string> { ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "20" });
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var router = new RouterService.RouterServiceClient(channel);
        var overheads = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            using var call = router.ExecuteAsync(new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = $"fizzbuzz {i}", MaxTokens = 32 },
                deadline: DateTime.UtcNow.AddSeconds(20));
            await call.ResponseAsync;
            var headers = await call.ResponseHeadersAsync;
            overheads.Add(double.Parse(headers.GetValue("x-monkey-overhead-ms")!, CultureInfo.InvariantCulture));
            Assert.False(string.IsNullOrEmpty(headers.GetValue("x-request-id")));
        }

        using (var stream = router.StreamExecute(new ExecuteRequest { TaskType = TaskType.Documentation, Prompt = "document retries", MaxTokens = 40 },
            deadline: DateTime.UtcNow.AddSeconds(20)))
        {
            while (await stream.ResponseStream.MoveNext(CancellationToken.None))
            {
            }

            Assert.NotNull(stream.GetTrailers().GetValue("x-monkey-overhead-ms"));
        }

        await Assert.ThrowsAsync<RpcException>(() => router.ExecuteAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = " " }).ResponseAsync);

        using var http = new HttpClient { BaseAddress = host.MetricsAddress, Timeout = TimeSpan.FromSeconds(10) };
        // The REST host serves /metrics on its metrics port only.
        using var scraper = new HttpClient { BaseAddress = host.MetricsAddress, Timeout = TimeSpan.FromSeconds(20) };
        var text = await ScrapeUntilAsync(scraper, t => Value(t, "monkeycoder_rpc_requests_total", "rpc=\"RouterService/Execute\"", "status=\"OK\"") >= 3);

        Assert.True(Value(text, "monkeycoder_rpc_requests_total", "rpc=\"RouterService/Execute\"", "status=\"OK\"") >= 3, text);
        Assert.Equal(1, Value(text, "monkeycoder_rpc_requests_total", "rpc=\"RouterService/Execute\"", "status=\"INVALID_ARGUMENT\""));
        Assert.Equal(1, Value(text, "monkeycoder_rpc_requests_total", "rpc=\"RouterService/StreamExecute\"", "status=\"OK\""));
        Assert.True(Value(text, "monkeycoder_rpc_duration_seconds_count", "rpc=\"RouterService/Execute\"") >= 4);
        Assert.True(Value(text, "monkeycoder_rpc_overhead_seconds_count", "rpc=\"RouterService/Execute\"") >= 4);
        Assert.True(Value(text, "monkeycoder_provider_attempts_total", "provider=\"simulated\"", "outcome=\"ok\"") >= 4);
        Assert.True(Value(text, "monkeycoder_provider_duration_seconds_count", "provider=\"simulated\"") >= 4);
        Assert.True(Value(text, "monkeycoder_provider_time_to_first_token_seconds_count", "provider=\"simulated\"") >= 4);
        Assert.True(Value(text, "monkeycoder_provider_tokens_total", "provider=\"simulated\"", "direction=\"output\"") > 0);
        Assert.Equal(2, Value(text, "monkeycoder_provider_health", "provider=\"simulated\""));
        Assert.Equal(0, Value(text, "monkeycoder_streams_active"));
        Assert.Contains("process_cpu_time_seconds_total", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_collections_total", text, StringComparison.Ordinal);

        // The metrics port also serves HTTP liveness/readiness (the gRPC port is HTTP/2 only).
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);

        overheads.Sort();
        Report.Write($"{(HostProcess.UsesAotBinary ? "aot" : "jit")}-service-overhead-ms-median", overheads[overheads.Count / 2]);
    }

    [Fact]
    public async Task ServiceMetricsPort_PostgresRedisAndRateLimit_ShowsDependencyRejectionAndBreakerSeries()
    {
        await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string>
        {
            ["DATABASE_URL"] = await TestServers.CreateDatabaseAsync(),
            ["REDIS_URL"] = TestServers.RedisUrlWithDatabase(6),
            ["RATE_LIMIT_REQUESTS_PER_MINUTE"] = "3",
            ["MonkeyCoder__Usage__BatchDelayMs"] = "50",
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "0",
        });
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var router = new RouterService.RouterServiceClient(channel);
        ExecuteRequest Task(int i) => new() { TaskType = TaskType.CodeGeneration, Prompt = $"metrics {i} {Guid.NewGuid():N}", MaxTokens = 16, Temperature = 0 };
        for (var i = 0; i < 3; i++)
        {
            await router.ExecuteAsync(Task(i), deadline: DateTime.UtcNow.AddSeconds(20));
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => router.ExecuteAsync(Task(3), deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);

        using var http = new HttpClient { BaseAddress = host.MetricsAddress, Timeout = TimeSpan.FromSeconds(10) };
        const string dependency = "monkeycoder_dependency_duration_seconds_count";
        var text = await ScrapeUntilAsync(http, t => Value(t, dependency, "dependency=\"postgres\"", "operation=\"usage_copy\"") >= 1);

        Assert.Equal(1, Value(text, "monkeycoder_ratelimit_rejections_total", "rpc=\"RouterService/Execute\"", "limit=\"requests\""));
        Assert.True(Value(text, dependency, "dependency=\"redis\"", "operation=\"ratelimit_acquire\"", "outcome=\"ok\"") >= 4, text);
        Assert.True(Value(text, dependency, "dependency=\"redis\"", "operation=\"cache_get\"", "outcome=\"ok\"") >= 3, text);
        Assert.True(Value(text, dependency, "dependency=\"redis\"", "operation=\"cache_set\"", "outcome=\"ok\"") >= 3, text);
        Assert.True(Value(text, dependency, "dependency=\"postgres\"", "operation=\"usage_copy\"", "outcome=\"ok\"") >= 1, text);
        Assert.True(Value(text, "monkeycoder_dependency_duration_seconds_bucket", "dependency=\"redis\"", "le=\"+Inf\"") >= 10, text);
        // Every call went through a closed breaker: one series per model used, value 0.
        Assert.Equal(0, Value(text, "monkeycoder_breaker_state", "provider=\"simulated\""));
        Assert.Contains("monkeycoder_breaker_state{", text, StringComparison.Ordinal);
        Assert.DoesNotContain("error", string.Join('\n', text.Split('\n').Where(l => l.StartsWith(dependency, StringComparison.Ordinal))), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GatewayMetrics_AfterRestCalls_ShowsRequestAndProviderSeries()
    {
        await using var host = await HostProcess.StartGatewayAsync(new Dictionary<string, string> { ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "20" });
        using var http = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromSeconds(20) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
        for (var i = 0; i < 3; i++)
        {
            using var response = await http.PostAsync("/v1/execute", new StringContent(
                $$"""{"taskType":"TASK_TYPE_CODE_GENERATION","prompt":"fizzbuzz {{i}}","maxTokens":32}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.TryGetValues("x-monkey-overhead-ms", out var values));
            Assert.True(double.Parse(values.Single(), CultureInfo.InvariantCulture) >= 0);
        }

        // The REST host serves /metrics on its metrics port only.
        using var scraper = new HttpClient { BaseAddress = host.MetricsAddress, Timeout = TimeSpan.FromSeconds(20) };
        var text = await ScrapeUntilAsync(scraper, t => Value(t, "monkeycoder_rpc_requests_total", "rpc=\"RouterService/Execute\"", "status=\"OK\"") >= 3);
        Assert.True(Value(text, "monkeycoder_rpc_requests_total", "rpc=\"RouterService/Execute\"", "status=\"OK\"") >= 3, text);
        Assert.True(Value(text, "monkeycoder_provider_attempts_total", "provider=\"simulated\"", "outcome=\"ok\"") >= 3);
        Assert.Equal(2, Value(text, "monkeycoder_provider_health", "provider=\"simulated\""));
    }

    [Fact]
    public async Task GatewayMetrics_AfterOpenAiCalls_ShowsTheEdgeLikeAnRpc()
    {
        await using var host = await HostProcess.StartGatewayAsync(new Dictionary<string, string> { ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "20" });
        using var http = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromSeconds(20) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
        const string chat = """{"model":"auto","max_tokens":16,"messages":[{"role":"user","content":"say hi"}]}""";
        for (var i = 0; i < 2; i++)
        {
            using var response = await http.PostAsync("/openai/v1/chat/completions", new StringContent(chat, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.TryGetValues("x-monkey-overhead-ms", out var values));
            Assert.True(double.Parse(values.Single(), CultureInfo.InvariantCulture) >= 0);
        }

        using (var stream = await http.PostAsync("/openai/v1/chat/completions", new StringContent(chat.Replace("\"model\"", "\"stream\":true,\"model\"", StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Contains("data: [DONE]", await stream.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var bad = await http.PostAsync("/openai/v1/chat/completions", new StringContent("{\"messages\":[]}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        using var anonymous = new HttpClient { BaseAddress = host.Address };
        using (var refused = await anonymous.GetAsync("/openai/v1/models"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // The REST host serves /metrics on its metrics port only.
        using var scraper = new HttpClient { BaseAddress = host.MetricsAddress, Timeout = TimeSpan.FromSeconds(20) };
        var text = await ScrapeUntilAsync(scraper, t => Value(t, "monkeycoder_rpc_requests_total", "rpc=\"OpenAi/ChatCompletions\"", "status=\"OK\"") >= 3
            && Value(t, "monkeycoder_rpc_requests_total", "rpc=\"OpenAi/ListModels\"", "status=\"UNAUTHENTICATED\"") >= 1);
        Assert.True(Value(text, "monkeycoder_rpc_requests_total", "rpc=\"OpenAi/ChatCompletions\"", "status=\"OK\"") >= 3, text);
        Assert.True(Value(text, "monkeycoder_rpc_requests_total", "rpc=\"OpenAi/ChatCompletions\"", "status=\"INVALID_ARGUMENT\"") >= 1, text);
        Assert.True(Value(text, "monkeycoder_rpc_requests_total", "rpc=\"OpenAi/ListModels\"", "status=\"UNAUTHENTICATED\"") >= 1, text);
        Assert.True(Value(text, "monkeycoder_rpc_duration_seconds_count", "rpc=\"OpenAi/ChatCompletions\"") >= 4, text);
        Assert.True(Value(text, "monkeycoder_rpc_overhead_seconds_count", "rpc=\"OpenAi/ChatCompletions\"") >= 4, text);
    }

    /// <summary>Scrapes until <paramref name="done"/> (the exporter caches a scrape briefly), at most 10 s.</summary>
    internal static async Task<string> ScrapeUntilAsync(HttpClient http, Func<string, bool> done)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        string text;
        do
        {
            text = await http.GetStringAsync("/metrics");
            if (done(text))
            {
                return text;
            }

            await Task.Delay(200);
        }
        while (watch.Elapsed < TimeSpan.FromSeconds(10));
        return text;
    }

    /// <summary>Sum of the samples of <paramref name="metric"/> whose labels contain every one of <paramref name="labels"/>; -1 when none.</summary>
    internal static double Value(string text, string metric, params string[] labels)
    {
        var found = false;
        var sum = 0.0;
        foreach (Match m in Regex.Matches(text, $@"^{Regex.Escape(metric)}(\{{(?<labels>[^}}]*)\}})? (?<value>\S+)", RegexOptions.Multiline))
        {
            var set = m.Groups["labels"].Value;
            if (labels.All(l => set.Contains(l, StringComparison.Ordinal)))
            {
                found = true;
                sum += double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return found ? sum : -1;
    }
}
