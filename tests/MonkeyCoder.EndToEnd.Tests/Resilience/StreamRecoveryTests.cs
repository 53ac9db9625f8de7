using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Fakes;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Resilience;

/// <summary>The two ways a caller streams an answer.</summary>
public enum Edge
{
    /// <summary>gRPC StreamExecute on the Service (the AOT binary under the test command).</summary>
    Grpc,
    /// <summary>OpenAI-compatible SSE (<c>POST /v1/chat/completions</c>, stream) on the REST host.</summary>
    OpenAiSse,
}

/// <summary>What one streamed call delivered, however it was streamed.</summary>
public sealed record Delivered(string Text, bool Completed, bool Recovered, IReadOnlyList<string> Outcomes, string Model, TimeSpan Duration, string? Error)
{
    public int Words => Text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
}

/// <summary>
/// One host (the Service for gRPC, the REST host for OpenAI SSE) on DEFAULT timeouts (first token
/// 15 s, stall 30 s, headers 60 s, attempt 600 s), pointed at a fake OpenAI server for the primary
/// model and a fake fallback (OpenAI-compatible "groq", or Anthropic). The primary's catalog chain
/// names the fallback, and routing ranks it first, so both edges run primary → fallback.
/// </summary>
public sealed class RecoveryEnvironment : IAsyncDisposable
{
    public const string PrimaryModel = "primary-model";
    public const string BackupModel = "backup-model";

    private readonly string _catalogPath;

    private RecoveryEnvironment(Edge edge, FakeOpenAiServer primary, FakeProviderServer backup, HostProcess host, string catalogPath)
    {
        Edge = edge;
        Primary = primary;
        Backup = backup;
        Host = host;
        _catalogPath = catalogPath;
        if (edge == Edge.Grpc)
        {
            Channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        }

        Http = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromMinutes(3) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServiceFixture.AdminKey);
    }

    public Edge Edge { get; }

    public FakeOpenAiServer Primary { get; }

    public FakeProviderServer Backup { get; }

    public HostProcess Host { get; }

    public GrpcChannel? Channel { get; }

    public HttpClient Http { get; }

    public static async Task<RecoveryEnvironment> StartAsync(Edge edge, bool anthropicBackup = false, int backupWindow = 1_000_000)
    {
        var primary = await FakeOpenAiServer.StartNewAsync("openai");
        FakeProviderServer backup = anthropicBackup ? await FakeAnthropicServer.StartNewAsync() : await FakeOpenAiServer.StartNewAsync("groq");
        var backupProvider = anthropicBackup ? "anthropic" : "groq";
        var catalog = $$"""
            {
              "providers": [
                { "name": "openai", "displayName": "OpenAI (fake)", "protocol": "openai", "baseUrl": "{{primary.BaseUrl}}", "apiKeyVariable": "OPENAI_API_KEY" },
                { "name": "{{backupProvider}}", "displayName": "Fallback (fake)", "protocol": "{{(anthropicBackup ? "anthropic" : "openai")}}", "baseUrl": "{{backup.BaseUrl}}", "apiKeyVariable": "{{backupProvider.ToUpperInvariant()}}_API_KEY" }
              ],
              "models": [
                { "id": "{{PrimaryModel}}", "provider": "openai", "contextWindow": 128000, "maxOutputTokens": 16384,
                  "inputPricePerMillion": 1, "outputPricePerMillion": 4, "typicalLatencyMs": 500, "fallbacks": ["{{backupProvider}}/{{BackupModel}}"],
                  "capabilities": { "codeGeneration": 0.95, "reasoning": 0.95, "reliability": 0.99 } },
                { "id": "{{BackupModel}}", "provider": "{{backupProvider}}", "contextWindow": {{backupWindow}}, "maxOutputTokens": 16384,
                  "inputPricePerMillion": 1, "outputPricePerMillion": 4, "typicalLatencyMs": 500,
                  "capabilities": { "codeGeneration": 0.3, "reasoning": 0.3, "reliability": 0.6 } }
              ]
            }
            """;
        var catalogPath = Path.Combine(Path.GetTempPath(), $"monkey-recovery-catalog-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(catalogPath, catalog);
        var prefix = backupProvider.ToUpperInvariant();
        var environment = new Dictionary<string, string>
        {
            ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
            ["MODEL_CATALOG_PATH"] = catalogPath,
            ["SIMULATED_ENABLED"] = "false",
            ["OPENAI_API_KEY"] = primary.ApiKey,
            ["OPENAI_BASE_URL"] = primary.BaseUrl.ToString(),
            [prefix + "_API_KEY"] = backup.ApiKey,
            [prefix + "_BASE_URL"] = backup.BaseUrl.ToString(),
            // Deterministic order (primary, then fallback); every timeout stays at its default.
            ["MonkeyCoder__Routing__BanditCandidates"] = "1",
        };
        var host = edge == Edge.Grpc ? await HostProcess.StartServiceAsync(environment) : await HostProcess.StartGatewayAsync(environment);
        var env = new RecoveryEnvironment(edge, primary, backup, host, catalogPath);
        // One clean call first (readiness, JIT warm-up), then a clean slate for the case.
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var warm = await env.StreamAsync();
            if (warm.Completed || watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                break;
            }

            await Task.Delay(100);
        }

        primary.Reset();
        backup.Reset();
        return env;
    }

    /// <summary>Streams one task to its end on this environment's edge.</summary>
    public Task<Delivered> StreamAsync() => Edge == Edge.Grpc ? GrpcAsync() : SseAsync();

    private async Task<Delivered> GrpcAsync()
    {
        var watch = Stopwatch.StartNew();
        var text = new StringBuilder();
        StreamFinal? final = null;
        string? error = null;
        try
        {
            using var call = new RouterService.RouterServiceClient(Channel!).StreamExecute(
                new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = "write fizzbuzz in python", MaxTokens = 400 },
                deadline: DateTime.UtcNow.AddMinutes(3));
            await foreach (var item in call.ResponseStream.ReadAllAsync())
            {
                if (item.EventCase == StreamExecuteResponse.EventOneofCase.Delta)
                {
                    text.Append(item.Delta.Text);
                }
                else if (item.EventCase == StreamExecuteResponse.EventOneofCase.Final)
                {
                    final = item.Final;
                }
            }
        }
        catch (RpcException ex)
        {
            error = $"{ex.StatusCode}: {ex.Status.Detail}";
        }

        return new Delivered(text.ToString(), final is not null, final?.Recovered ?? false,
            final?.Attempts.Select(a => a.Outcome).ToList() ?? [], final?.Model ?? "", watch.Elapsed, error);
    }

    /// <summary>
    /// Reads the OpenAI SSE stream and checks it is well-formed: one id on every chunk, exactly one
    /// finish, the usage chunk last, then [DONE]. Attempts are the upstream requests the fakes saw.
    /// </summary>
    private async Task<Delivered> SseAsync()
    {
        var watch = Stopwatch.StartNew();
        var before = Primary.RequestCount + Backup.RequestCount;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""
                {"model":"{{PrimaryModel}}","stream":true,"stream_options":{"include_usage":true},"max_tokens":400,
                 "messages":[{"role":"user","content":"write fizzbuzz in python"}]}
                """, Encoding.UTF8, "application/json"),
        };
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            return new Delivered("", false, false, [], "", watch.Elapsed, $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        var text = new StringBuilder();
        var ids = new HashSet<string>();
        var finishes = 0;
        var recovered = false;
        var done = false;
        var usageLast = false;
        string model = "";
        string? error = null;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            var data = line["data: ".Length..];
            if (data == "[DONE]")
            {
                done = true;
                continue;
            }

            Assert.False(done, "a chunk after [DONE]");
            using var json = JsonDocument.Parse(data);
            var root = json.RootElement;
            if (root.TryGetProperty("error", out var err))
            {
                error = err.GetRawText();
                continue;
            }

            ids.Add(root.GetProperty("id").GetString()!);
            model = root.GetProperty("model").GetString()!;
            usageLast = root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object;
            if (usageLast)
            {
                Assert.Equal(0, root.GetProperty("choices").GetArrayLength());
                Assert.True(usage.GetProperty("completion_tokens").GetInt64() > 0);
            }

            foreach (var choice in root.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var content))
                {
                    text.Append(content.GetString());
                }

                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                {
                    finishes++;
                    Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
                    recovered = root.TryGetProperty("recovered", out var r) && r.GetBoolean();
                }
            }
        }

        var completed = error is null && done;
        if (completed)
        {
            Assert.Single(ids);
            Assert.Equal(1, finishes);
            Assert.True(usageLast, "the usage chunk is the last chunk");
        }

        var attempts = Primary.RequestCount + Backup.RequestCount - before;
        return new Delivered(text.ToString(), completed, recovered, Enumerable.Repeat("upstream", attempts).ToList(), model, watch.Elapsed, error);
    }

    public async ValueTask DisposeAsync()
    {
        Channel?.Dispose();
        Http.Dispose();
        var errors = Host.ErrorLines.ToList();
        await Host.DisposeAsync();
        await Primary.DisposeAsync();
        await Backup.DisposeAsync();
        File.Delete(_catalogPath);
        Assert.True(errors.Count == 0, "The host logged unexpected errors:\n" + string.Join('\n', errors));
    }
}

/// <summary>
/// Issue 18, end to end on both edges and DEFAULT timeouts: a stream that breaks after content is
/// finished as one complete answer; bad events are skipped; silent upstreams fail over at once; a
/// context-length 400 goes to a larger window. Each case writes attempts, duration and words
/// delivered to artifacts/test-report.txt (stream-recovery.&lt;edge&gt;.&lt;case&gt;.*).
/// </summary>
public sealed class StreamRecoveryTests
{
    /// <summary>60 distinct words, as a model would write them: each must reach the caller exactly once, in order.</summary>
    private static readonly string Canonical = string.Join(' ', Enumerable.Range(1, 60).Select(i => $"word{i:00}")) + ".";

    /// <summary>The fakes stream about two words per delta: 20 deltas are the first 40 words.</summary>
    private const int FortyWords = 20;

    public static TheoryData<Edge> Edges => new() { Edge.Grpc, Edge.OpenAiSse };

    private static void Report(Edge edge, string name, Delivered delivered)
    {
        var key = $"stream-recovery.{(edge == Edge.Grpc ? "grpc" : "sse")}.{name}";
        Infrastructure.Report.Write(key + ".attempts", delivered.Outcomes.Count);
        Infrastructure.Report.Write(key + ".duration-ms", delivered.Duration.TotalMilliseconds);
        Infrastructure.Report.Write(key + ".words", delivered.Words);
    }

    private static void CompleteOnce(Delivered delivered, string? expectedModel = null)
    {
        Assert.True(delivered.Completed, delivered.Error ?? "the stream did not complete");
        Assert.Null(delivered.Error);
        Assert.Equal(Canonical, delivered.Text);
        Assert.Equal(60, delivered.Words);
        if (expectedModel is not null)
        {
            Assert.Equal(expectedModel, delivered.Model);
        }
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public async Task Stream_CutAfter40Of60Words_All60OnceRecoveredTwoAttempts(Edge edge)
    {
        await using var env = await RecoveryEnvironment.StartAsync(edge);
        env.Primary.SetDefault(FakeResponse.Success(Canonical));
        env.Primary.Enqueue(FakeResponse.CutMidStream(afterDeltas: FortyWords).WithContent(Canonical));

        var delivered = await env.StreamAsync();

        Report(edge, "cut", delivered);
        CompleteOnce(delivered, RecoveryEnvironment.PrimaryModel);
        Assert.True(delivered.Recovered);
        Assert.Equal(2, delivered.Outcomes.Count);
        if (edge == Edge.Grpc)
        {
            Assert.Equal(["stream_cut", "ok"], delivered.Outcomes);
        }

        // The same model continued from a quoting instruction (OpenAI-compatible: no prefill by default).
        Assert.Equal(2, env.Primary.RequestCount);
        var last = env.Primary.Requests[1].Json.GetProperty("messages").EnumerateArray().Last();
        Assert.Equal("user", last.GetProperty("role").GetString());
        Assert.Contains("<<<DELIVERED>>>" + Canonical[..Canonical.IndexOf("word41", StringComparison.Ordinal)].TrimEnd(), last.GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, env.Backup.RequestCount);
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public async Task Stream_StallAfter40Of60Words_FallbackContinuesRecovered(Edge edge)
    {
        await using var env = await RecoveryEnvironment.StartAsync(edge);
        env.Primary.Enqueue(FakeResponse.Stall(afterDeltas: FortyWords).WithContent(Canonical));
        // This fallback starts over when asked to continue: the repeated 40 words never reach the caller.
        env.Backup.SetDefault(FakeResponse.Success(Canonical) with { RestartOnContinuation = true });

        var delivered = await env.StreamAsync();

        Report(edge, "stall", delivered);
        CompleteOnce(delivered, RecoveryEnvironment.BackupModel);
        Assert.True(delivered.Recovered);
        Assert.Equal(2, delivered.Outcomes.Count);
        if (edge == Edge.Grpc)
        {
            Assert.Equal(["stalled", "ok"], delivered.Outcomes);
        }

        // Default stall timeout (30 s), then the fallback's own time.
        Assert.InRange(delivered.Duration, TimeSpan.FromSeconds(29.5), TimeSpan.FromSeconds(60));
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public async Task Stream_BreakWhoseFallbackRejectsPrefill_ContinuedWithoutPrefillNo400(Edge edge)
    {
        await using var env = await RecoveryEnvironment.StartAsync(edge, anthropicBackup: true);
        env.Primary.Enqueue(FakeResponse.Stall(afterDeltas: FortyWords).WithContent(Canonical));
        env.Backup.SetDefault(FakeResponse.Success(Canonical));
        env.Backup.RejectsPrefill = true;

        var delivered = await env.StreamAsync();

        Report(edge, "prefill-rejected", delivered);
        CompleteOnce(delivered, RecoveryEnvironment.BackupModel);
        Assert.True(delivered.Recovered);
        if (edge == Edge.Grpc)
        {
            Assert.Equal(["stalled", "prefill_rejected", "ok"], delivered.Outcomes);
        }

        // Anthropic got the prefill first (its protocol default), answered 400, then the quoting instruction.
        Assert.Equal(2, env.Backup.RequestCount);
        Assert.Equal("assistant", env.Backup.Requests[0].Json.GetProperty("messages").EnumerateArray().Last().GetProperty("role").GetString());
        Assert.Equal("user", env.Backup.Requests[1].Json.GetProperty("messages").EnumerateArray().Last().GetProperty("role").GetString());
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public async Task Stream_OneMalformedEventMidStream_CompleteAnswerOneAttempt(Edge edge)
    {
        await using var env = await RecoveryEnvironment.StartAsync(edge);
        env.Primary.Enqueue(FakeResponse.BadEvents(afterDeltas: 10, count: 1).WithContent(Canonical));

        var delivered = await env.StreamAsync();

        Report(edge, "one-bad-event", delivered);
        CompleteOnce(delivered, RecoveryEnvironment.PrimaryModel);
        Assert.False(delivered.Recovered);
        Assert.Single(delivered.Outcomes);
        Assert.True(await env.Host.WaitForOutputAsync(l => l.Contains("unparseable", StringComparison.Ordinal) && l.Contains(RecoveryEnvironment.PrimaryModel, StringComparison.Ordinal), TimeSpan.FromSeconds(5)),
            "the skipped event is logged with provider and model");
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public async Task Stream_ThreeMalformedEventsInARow_Recovered(Edge edge)
    {
        await using var env = await RecoveryEnvironment.StartAsync(edge);
        env.Primary.SetDefault(FakeResponse.Success(Canonical));
        env.Primary.Enqueue(FakeResponse.BadEvents(afterDeltas: 10, count: 3).WithContent(Canonical));

        var delivered = await env.StreamAsync();

        Report(edge, "three-bad-events", delivered);
        CompleteOnce(delivered, RecoveryEnvironment.PrimaryModel);
        Assert.True(delivered.Recovered);
        Assert.Equal(2, delivered.Outcomes.Count);
        if (edge == Edge.Grpc)
        {
            Assert.Equal(["malformed_stream", "ok"], delivered.Outcomes);
        }
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public async Task Stream_ProviderAcceptsAndNeverAnswers_OneAttemptThenFallbackWellInside100s(Edge edge)
    {
        await using var env = await RecoveryEnvironment.StartAsync(edge);
        env.Primary.SetDefault(FakeResponse.Hang());
        env.Backup.SetDefault(FakeResponse.Success(Canonical));

        var delivered = await env.StreamAsync();

        Report(edge, "never-answers", delivered);
        CompleteOnce(delivered, RecoveryEnvironment.BackupModel);
        Assert.Equal(1, env.Primary.RequestCount);
        Assert.Equal(2, delivered.Outcomes.Count);
        if (edge == Edge.Grpc)
        {
            Assert.Equal(["timeout", "ok"], delivered.Outcomes);
        }

        // One first-token timeout (15 s default) and the fallback's answer; before: three silent attempts, past 130 s.
        Assert.InRange(delivered.Duration, TimeSpan.FromSeconds(14.5), TimeSpan.FromSeconds(45));
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public async Task Stream_SlowFirstToken20s_FallbackAnswersWithinTtftPlusItsOwnTime(Edge edge)
    {
        await using var env = await RecoveryEnvironment.StartAsync(edge);
        env.Primary.SetDefault(FakeResponse.SlowFirstToken(TimeSpan.FromSeconds(20)) with { Content = Canonical });
        env.Backup.SetDefault(FakeResponse.Success(Canonical));

        var delivered = await env.StreamAsync();

        Report(edge, "slow-first-token", delivered);
        CompleteOnce(delivered, RecoveryEnvironment.BackupModel);
        Assert.Equal(1, env.Primary.RequestCount);
        Assert.InRange(delivered.Duration, TimeSpan.FromSeconds(14.5), TimeSpan.FromSeconds(19.5));
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public async Task Stream_ContextLengthExceeded_LargerWindowFallbackAnswersOneAttemptOnFirst(Edge edge)
    {
        await using var env = await RecoveryEnvironment.StartAsync(edge, backupWindow: 1_000_000);
        env.Primary.Enqueue(FakeResponse.ContextLengthExceeded());
        env.Backup.SetDefault(FakeResponse.Success(Canonical));

        var delivered = await env.StreamAsync();

        Report(edge, "context-length", delivered);
        CompleteOnce(delivered, RecoveryEnvironment.BackupModel);
        Assert.Equal(1, env.Primary.RequestCount);
        Assert.Equal(2, delivered.Outcomes.Count);
        if (edge == Edge.Grpc)
        {
            Assert.Equal(["context_length_exceeded", "ok"], delivered.Outcomes);
        }
    }

    [Fact]
    public async Task Execute_CutMidAnswer_UnaryRecoversTheSameWay()
    {
        await using var env = await RecoveryEnvironment.StartAsync(Edge.Grpc);
        env.Primary.SetDefault(FakeResponse.Success(Canonical));
        env.Primary.Enqueue(FakeResponse.CutMidStream(afterDeltas: FortyWords).WithContent(Canonical));
        var watch = Stopwatch.StartNew();

        var response = await new RouterService.RouterServiceClient(env.Channel!).ExecuteAsync(
            new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = "write fizzbuzz in python", MaxTokens = 400 }, deadline: DateTime.UtcNow.AddMinutes(2));

        var delivered = new Delivered(response.Content, true, response.Recovered, response.Attempts.Select(a => a.Outcome).ToList(), response.Model, watch.Elapsed, null);
        Report(Edge.Grpc, "unary-cut", delivered);
        CompleteOnce(delivered, RecoveryEnvironment.PrimaryModel);
        Assert.True(response.Recovered);
        Assert.Equal(["stream_cut", "ok"], delivered.Outcomes);
        Assert.All(response.Attempts, a => Assert.True(a.DeliveredTokens > 0));
    }
}
