using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.EndToEnd.Tests.Auth;
using MonkeyCoder.EndToEnd.Tests.Fakes;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;
using Npgsql;

namespace MonkeyCoder.EndToEnd.Tests.Usage;

/// <summary>How the stream breaks after 30 tokens, and who continues it.</summary>
public enum BreakAfter30
{
    /// <summary>The connection drops (a retryable fault): the same model continues.</summary>
    CutThenSameModel,
    /// <summary>The provider goes silent (stall timeout): the fallback candidate continues.</summary>
    StallThenFallback,
}

/// <summary>
/// Issue 17, "Must show": a stream that breaks after 30 tokens and is finished by a second attempt.
/// The billed total (response and stream final), the usage record in PostgreSQL and the key's
/// budget carry both attempts' tokens and cost; <c>usage</c> carries the answer's (the prompt once,
/// both parts' output). Real hosts on a fresh PostgreSQL database and the shared Redis, fake
/// OpenAI-compatible providers with fault injection. Each case writes its numbers to
/// artifacts/test-report.txt (recovered-billing.&lt;edge&gt;.&lt;case&gt;.*).
/// </summary>
public sealed class RecoveredStreamBillingTests
{
    private const string PrimaryModel = "primary-model";
    private const string BackupModel = "backup-model";

    // Per million tokens. The fallback is dearer (so routing keeps it second, and a failover's parts carry different prices).
    private const double PrimaryIn = 100, PrimaryOut = 400, BackupIn = 300, BackupOut = 1200;

    /// <summary>The first 28 words (14 deltas of two words) of <see cref="Canonical"/> are exactly 30 o200k tokens (checked).</summary>
    private const int DeltasFor30Tokens = 14;

    /// <summary>60 distinct words: "Quebec" is two tokens, every other word one, the 28th word's trailing space one more.</summary>
    private static readonly string Canonical = "Quebec alpha delta echo hotel india red green blue black white brown orange purple pink gray gold silver north "
        + "south east west spring summer winter river forest apple melon bread salt stone paper glass metal wood sand house garden table "
        + "chair window door floor wall roof street city town road bridge train plane ship boat car truck horse dog cat.";

    /// <summary>What the continuation's provider reports for its prompt (the original prompt plus the delivered text it quotes).</summary>
    private const int ContinuationPromptTokens = 250;

    public static TheoryData<Resilience.Edge, BreakAfter30> Cases => new()
    {
        { Resilience.Edge.Grpc, BreakAfter30.CutThenSameModel },
        { Resilience.Edge.Grpc, BreakAfter30.StallThenFallback },
        { Resilience.Edge.OpenAiSse, BreakAfter30.CutThenSameModel },
        { Resilience.Edge.OpenAiSse, BreakAfter30.StallThenFallback },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Stream_BrokenAfter30Tokens_BilledRecordAndBudgetCarryBothAttemptsUsageTheAnswers(Resilience.Edge edge, BreakAfter30 fault)
    {
        var tokens = new TokenCounter();
        var deltas = FakeProviderServer.Deltas(Canonical);
        var delivered = string.Concat(deltas.Take(DeltasFor30Tokens));
        Assert.Equal(30, tokens.Count(delivered));
        var rest = Canonical[delivered.Length..];

        await using var env = await BillingEnvironment.StartAsync(edge == Resilience.Edge.OpenAiSse);
        var continuation = FakeResponse.Success(Canonical, inputTokens: ContinuationPromptTokens, outputTokens: tokens.Count(rest));
        if (fault == BreakAfter30.CutThenSameModel)
        {
            env.Primary.Enqueue(FakeResponse.CutMidStream(afterDeltas: DeltasFor30Tokens).WithContent(Canonical));
            env.Primary.SetDefault(continuation);
        }
        else
        {
            env.Primary.Enqueue(FakeResponse.Stall(afterDeltas: DeltasFor30Tokens).WithContent(Canonical));
            env.Backup.SetDefault(continuation);
        }

        var key = await new ApiKeyService.ApiKeyServiceClient(env.Admin).CreateApiKeyAsync(
            new CreateApiKeyRequest { Name = "recovered billing", Scopes = { "execute" }, MonthlyBudgetUsd = 20 }, deadline: Deadline);
        using var keyChannel = ServiceFixture.AuthenticatedChannel(env.Service.Address, key.Secret);

        var answer = edge == Resilience.Edge.Grpc ? await GrpcAsync(keyChannel) : await SseAsync(env.Gateway!, key.Secret);

        // One complete answer, continued by a second attempt.
        Assert.Equal(Canonical, answer.Text);
        Assert.True(answer.Recovered);
        var record = await UsageRecord.WaitForAsync(env.DatabaseUrl, answer.ExecutionId);
        Assert.Equal(key.ApiKey.KeyId, record.ApiKeyId);
        var continuedOn = fault == BreakAfter30.CutThenSameModel ? PrimaryModel : BackupModel;
        Assert.Equal(continuedOn, record.Model);
        Assert.Equal(2, record.Attempts.Count);
        var (broken, last) = (record.Attempts[0], record.Attempts[1]);
        Assert.Equal(fault == BreakAfter30.CutThenSameModel ? "stream_cut" : "stalled", broken.Outcome);
        Assert.Equal(PrimaryModel, broken.Model);
        Assert.Equal("ok", last.Outcome);
        Assert.Equal(continuedOn, last.Model);
        Assert.Equal(30, broken.OutputTokens);
        Assert.True(broken.InputTokens > 0, "the broken attempt's prompt reached the provider");
        Assert.Equal(ContinuationPromptTokens, last.InputTokens);

        // Both attempts, in full, at their own prices: what the providers will invoice.
        var (lastIn, lastOut) = continuedOn == PrimaryModel ? (PrimaryIn, PrimaryOut) : (BackupIn, BackupOut);
        var billedInput = broken.InputTokens + last.InputTokens;
        var billedOutput = broken.OutputTokens + last.OutputTokens;
        var billedCost = ((broken.InputTokens * PrimaryIn) + (broken.OutputTokens * PrimaryOut) + (last.InputTokens * lastIn) + (last.OutputTokens * lastOut)) / 1_000_000d;
        Assert.Equal(billedCost, broken.CostUsd + last.CostUsd, 9);

        // The answer's usage: the prompt once, then both parts' output, each at the price of the model that wrote it.
        var usageInput = broken.InputTokens;
        var usageOutput = broken.OutputTokens + last.OutputTokens;
        var usageCost = ((broken.InputTokens * PrimaryIn) + (broken.OutputTokens * PrimaryOut) + (last.OutputTokens * lastOut)) / 1_000_000d;
        Assert.True(billedCost > usageCost, "the continuation's prompt is billed, not part of the answer's usage");

        // The usage record: usage columns the answer's, billed columns both attempts'.
        Assert.Equal((usageInput, usageOutput), (record.InputTokens, record.OutputTokens));
        Assert.Equal(usageCost, record.CostUsd, 9);
        Assert.Equal((billedInput, billedOutput), (record.BilledInputTokens, record.BilledOutputTokens));
        Assert.Equal(billedCost, record.BilledCostUsd, 9);

        // What the caller was told.
        Assert.Equal((usageInput, usageOutput), (answer.UsageInput, answer.UsageOutput));
        if (answer.Billed is { } billed)
        {
            Assert.Equal(usageCost, answer.UsageCostUsd!.Value, 7);
            Assert.Equal((billedInput, billedOutput, billedInput + billedOutput), (billed.InputTokens, billed.OutputTokens, billed.TotalTokens));
            Assert.Equal(billedCost, billed.CostUsd, 9);
        }

        // The key's budget settled with the billed total, never with usage.
        var budget = await SettledBudgetAsync(keyChannel);
        var spentMicros = (long)Math.Round(budget.SpentUsd * 1_000_000);
        var billedMicros = (long)Math.Round(billedCost * 1_000_000, MidpointRounding.AwayFromZero);
        var usageMicros = (long)Math.Round(usageCost * 1_000_000, MidpointRounding.AwayFromZero);
        Assert.Equal(billedMicros, spentMicros);
        Assert.True(spentMicros > usageMicros);

        var name = $"recovered-billing.{(edge == Resilience.Edge.Grpc ? "grpc" : "sse")}.{(fault == BreakAfter30.CutThenSameModel ? "cut" : "stall-fallback")}";
        Report.Write(name + ".broken-output-tokens", broken.OutputTokens);
        Report.Write(name + ".usage-tokens", usageInput + usageOutput);
        Report.Write(name + ".usage-micros", usageMicros);
        Report.Write(name + ".billed-tokens", billedInput + billedOutput);
        Report.Write(name + ".billed-micros", billedMicros);
        Report.Write(name + ".record-billed-tokens", record.BilledInputTokens + record.BilledOutputTokens);
        Report.Write(name + ".budget-spent-micros", spentMicros);
    }

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(60);

    /// <summary>What one streamed call told its caller.</summary>
    private sealed record Answer(string ExecutionId, string Text, bool Recovered, long UsageInput, long UsageOutput, double? UsageCostUsd, V1.Usage? Billed);

    private static async Task<Answer> GrpcAsync(GrpcChannel channel)
    {
        var text = new StringBuilder();
        StreamFinal? final = null;
        using var call = new RouterService.RouterServiceClient(channel).StreamExecute(new ExecuteRequest
        {
            TaskType = TaskType.CodeGeneration,
            Prompt = "write fizzbuzz in python",
            MaxTokens = 400,
            StrategyOptions = new StrategyOptions { Strategy = Strategy.Single },
        }, deadline: DateTime.UtcNow.AddMinutes(2));
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

        Assert.NotNull(final);
        return new Answer(final.ExecutionId, text.ToString(), final.Recovered, final.Usage.InputTokens, final.Usage.OutputTokens, final.Usage.CostUsd, final.Billed);
    }

    /// <summary>OpenAI's streamed chat completion with include_usage: the text, the recovered flag and the usage chunk.</summary>
    private static async Task<Answer> SseAsync(HostProcess gateway, string secret)
    {
        using var http = new HttpClient { BaseAddress = gateway.Address, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""
                {"model":"{{PrimaryModel}}","stream":true,"stream_options":{"include_usage":true},"max_tokens":400,
                 "messages":[{"role":"user","content":"write fizzbuzz in python"}]}
                """, Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var text = new StringBuilder();
        string? id = null;
        var recovered = false;
        JsonElement? usage = null;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]")
            {
                continue;
            }

            using var json = JsonDocument.Parse(line["data: ".Length..]);
            var root = json.RootElement;
            Assert.False(root.TryGetProperty("error", out var error), error.ToString());
            id ??= root.GetProperty("id").GetString();
            recovered |= root.TryGetProperty("recovered", out var r) && r.GetBoolean();
            if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
            {
                usage = u.Clone();
            }

            foreach (var choice in root.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var content))
                {
                    text.Append(content.GetString());
                }
            }
        }

        Assert.NotNull(id);
        Assert.NotNull(usage);
        var executionId = id["chatcmpl-".Length..];
        var prompt = usage.Value.GetProperty("prompt_tokens").GetInt64();
        var completion = usage.Value.GetProperty("completion_tokens").GetInt64();
        Assert.Equal(prompt + completion, usage.Value.GetProperty("total_tokens").GetInt64());
        return new Answer(executionId, text.ToString(), recovered, prompt, completion, null, null);
    }

    /// <summary>The key's budget once the call's hold is settled (bounded wait).</summary>
    private static async Task<BudgetStatus> SettledBudgetAsync(GrpcChannel keyChannel)
    {
        var auth = new AuthService.AuthServiceClient(keyChannel);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var budget = (await auth.WhoAmIAsync(new WhoAmIRequest(), deadline: Deadline)).KeyBudget;
            if ((budget.OpenReservations == 0 && budget.SpentUsd > 0) || watch.Elapsed > TimeSpan.FromSeconds(20))
            {
                Assert.Equal(0, budget.OpenReservations);
                return budget;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>One attempt as the usage record stores it (attempts jsonb).</summary>
    private sealed record RecordedAttempt(string Model, string Outcome, long InputTokens, long OutputTokens, double CostUsd);

    /// <summary>One row of usage_events, read straight from PostgreSQL.</summary>
    private sealed record UsageRecord(
        string? ApiKeyId, string Model, long InputTokens, long OutputTokens, double CostUsd,
        long BilledInputTokens, long BilledOutputTokens, double BilledCostUsd, IReadOnlyList<RecordedAttempt> Attempts)
    {
        public static async Task<UsageRecord> WaitForAsync(string databaseUrl, string executionId)
        {
            await using var dataSource = NpgsqlDataSource.Create(TestServers.ToConnectionString(databaseUrl));
            var watch = Stopwatch.StartNew();
            while (true)
            {
                await using (var command = dataSource.CreateCommand(
                    "SELECT api_key_id, model, input_tokens, output_tokens, cost_usd, billed_input_tokens, billed_output_tokens, billed_cost_usd, attempts::text "
                    + "FROM usage_events WHERE execution_id = $1"))
                {
                    command.Parameters.AddWithValue(executionId);
                    await using var reader = await command.ExecuteReaderAsync();
                    if (await reader.ReadAsync())
                    {
                        using var attempts = JsonDocument.Parse(reader.GetString(8));
                        return new UsageRecord(
                            reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetDouble(4),
                            reader.GetInt64(5), reader.GetInt64(6), reader.GetDouble(7),
                            attempts.RootElement.EnumerateArray().Select(a => new RecordedAttempt(
                                a.GetProperty("model").GetString()!, a.GetProperty("outcome").GetString()!,
                                a.GetProperty("inputTokens").GetInt64(), a.GetProperty("outputTokens").GetInt64(), a.GetProperty("costUsd").GetDouble())).ToList());
                    }
                }

                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"no usage record for {executionId} after 30 s");
                await Task.Delay(200);
            }
        }
    }

    /// <summary>
    /// A Service (and, for the OpenAI edge, the REST host) on a fresh PostgreSQL database and the
    /// shared Redis, pointed at a fake OpenAI server for the primary model and a fake
    /// OpenAI-compatible "groq" fallback named in the primary's catalog chain. A 5 s stall timeout
    /// keeps the stall case short; every other timeout is the default.
    /// </summary>
    private sealed class BillingEnvironment : IAsyncDisposable
    {
        private readonly string _catalogPath;

        private BillingEnvironment(string databaseUrl, string catalogPath, FakeOpenAiServer primary, FakeOpenAiServer backup, HostProcess service, HostProcess? gateway)
        {
            DatabaseUrl = databaseUrl;
            _catalogPath = catalogPath;
            Primary = primary;
            Backup = backup;
            Service = service;
            Gateway = gateway;
            Admin = ServiceFixture.AuthenticatedChannel(service.Address, ServiceFixture.AdminKey);
        }

        public string DatabaseUrl { get; }

        public FakeOpenAiServer Primary { get; }

        public FakeOpenAiServer Backup { get; }

        public HostProcess Service { get; }

        public HostProcess? Gateway { get; }

        public GrpcChannel Admin { get; }

        public static async Task<BillingEnvironment> StartAsync(bool withGateway)
        {
            var databaseUrl = await TestServices.CreateDatabaseAsync();
            var primary = await FakeOpenAiServer.StartNewAsync("openai");
            var backup = await FakeOpenAiServer.StartNewAsync("groq");
            string Price(double value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var catalog = $$"""
                {
                  "providers": [
                    { "name": "openai", "displayName": "OpenAI (fake)", "protocol": "openai", "baseUrl": "{{primary.BaseUrl}}", "apiKeyVariable": "OPENAI_API_KEY" },
                    { "name": "groq", "displayName": "Fallback (fake)", "protocol": "openai", "baseUrl": "{{backup.BaseUrl}}", "apiKeyVariable": "GROQ_API_KEY" }
                  ],
                  "models": [
                    { "id": "{{PrimaryModel}}", "provider": "openai", "contextWindow": 128000, "maxOutputTokens": 16384,
                      "inputPricePerMillion": {{Price(PrimaryIn)}}, "outputPricePerMillion": {{Price(PrimaryOut)}}, "typicalLatencyMs": 500, "fallbacks": ["groq/{{BackupModel}}"],
                      "capabilities": { "codeGeneration": 0.95, "reasoning": 0.95, "reliability": 0.99 } },
                    { "id": "{{BackupModel}}", "provider": "groq", "contextWindow": 128000, "maxOutputTokens": 16384,
                      "inputPricePerMillion": {{Price(BackupIn)}}, "outputPricePerMillion": {{Price(BackupOut)}}, "typicalLatencyMs": 500,
                      "capabilities": { "codeGeneration": 0.3, "reasoning": 0.3, "reliability": 0.6 } }
                  ]
                }
                """;
            var catalogPath = Path.Combine(Path.GetTempPath(), $"monkey-billing-catalog-{Guid.NewGuid():N}.json");
            await File.WriteAllTextAsync(catalogPath, catalog);
            var environment = new Dictionary<string, string>
            {
                ["DATABASE_URL"] = databaseUrl,
                ["REDIS_URL"] = TestServices.RedisUrl,
                ["JWT_SECRET_KEY"] = SecuredServiceFixture.JwtSecret,
                ["MONKEY_CODER_ADMIN_API_KEY"] = ServiceFixture.AdminKey,
                ["MODEL_CATALOG_PATH"] = catalogPath,
                ["SIMULATED_ENABLED"] = "false",
                ["OPENAI_API_KEY"] = primary.ApiKey,
                ["OPENAI_BASE_URL"] = primary.BaseUrl.ToString(),
                ["GROQ_API_KEY"] = backup.ApiKey,
                ["GROQ_BASE_URL"] = backup.BaseUrl.ToString(),
                // Deterministic order: primary, then the fallback.
                ["MonkeyCoder__Routing__BanditCandidates"] = "1",
                ["MonkeyCoder__Execution__StallTimeoutMs"] = "5000",
            };
            var service = await HostProcess.StartServiceAsync(environment);
            var gateway = withGateway ? await HostProcess.StartGatewayAsync(environment) : null;
            var env = new BillingEnvironment(databaseUrl, catalogPath, primary, backup, service, gateway);

            // One clean call first (readiness, warm-up) as the admin, then a clean slate for the case.
            primary.SetDefault(FakeResponse.Success(Canonical));
            var router = new RouterService.RouterServiceClient(env.Admin);
            var watch = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    await router.ExecuteAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = "warm up", MaxTokens = 16 }, deadline: DateTime.UtcNow.AddSeconds(20));
                    break;
                }
                catch (RpcException) when (watch.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(200);
                }
            }

            primary.Reset();
            backup.Reset();
            return env;
        }

        public async ValueTask DisposeAsync()
        {
            Admin.Dispose();
            var hosts = Gateway is null ? new[] { Service } : [Service, Gateway];
            var errors = hosts.SelectMany(h => h.ErrorLines).ToList();
            foreach (var host in hosts.Reverse())
            {
                await host.DisposeAsync();
            }

            await Primary.DisposeAsync();
            await Backup.DisposeAsync();
            File.Delete(_catalogPath);
            Assert.True(errors.Count == 0, "A host logged unexpected errors:\n" + string.Join('\n', errors));
        }
    }
}
