using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Calls;
using MonkeyCoder.Core.Edge;
using MonkeyCoder.Core.Edge.OpenAi;
using MonkeyCoder.Core.Hosting;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Calls;

/// <summary>
/// One admission estimate for every edge: a gRPC Execute and an OpenAI chat completion with the same
/// content are charged the same tokens, through the real adapters, steps and limits; history, system
/// prompt, files and max tokens all count. (Before the call pipeline, the gRPC interceptor counted
/// files and the default max tokens but no history, the OpenAI edge history but no files, one token apart.)
/// </summary>
public sealed class AdmissionEstimateTests : IDisposable
{
    private const string SystemPrompt = "You are a terse reviewer; answer in one line.";
    private const string Prompt = "Review this function for off-by-one errors, please.";
    private const int DefaultMaxTokens = 1000;

    /// <summary>Admits everything and remembers the estimate of each admission.</summary>
    private sealed class EstimateRecorder : IRateLimiter
    {
        public List<long> Estimates { get; } = [];

        public string Kind => "recording";

        public Task<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken)
        {
            Estimates.Add(request.EstimatedTokens);
            return Task.FromResult(new LimitDecision(LimitVerdict.Admitted, request.RequestsPerMinute, request.RequestsPerMinute - 1, TimeSpan.Zero, TimeSpan.FromMinutes(1), 0));
        }

        public Task<SpendTotals> CompleteAsync(LimitRequest request, LimitDecision decision, long actualTokens, double costUsd, CancellationToken cancellationToken,
            SpendReservation? reservation = null) => Task.FromResult(SpendTotals.Unknown);

        public Task<SpendReservation> ReserveAsync(LimitRequest request, long micros, TimeSpan ttl, CancellationToken cancellationToken) =>
            Task.FromResult(new SpendReservation("h", micros, true, null, -1));

        public Task<BudgetSnapshot> GetBudgetAsync(LimitRequest request, CancellationToken cancellationToken) =>
            Task.FromResult(new BudgetSnapshot(null, new BudgetUse(null, 0, 0, 0)));
    }

    private sealed class RunningHost : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }

    private readonly EstimateRecorder _limiter = new();
    private readonly ServiceProvider _services;
    private readonly string _token;

    public AdmissionEstimateTests()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MonkeyCoder:Auth:JwtSecretKey"] = new string('k', 48),
            ["MonkeyCoder:Limits:DefaultMaxTokens"] = DefaultMaxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<IHostApplicationLifetime, RunningHost>();
        services.AddMonkeyCoder(configuration);
        services.AddMonkeyCoderEdge(configuration);
        services.AddSingleton<IRateLimiter>(_limiter);
        _services = services.BuildServiceProvider();
        _token = _services.GetRequiredService<AccessTokens>().Issue(new AccessTokenClaims("usr_1", "dev@example.com", "Dev", Scopes.Roles.Developer, "fam_1", null));
    }

    public void Dispose() => _services.Dispose();

    /// <summary>The estimate admission charged a gRPC Execute of <paramref name="request"/>, through the gRPC adapter.</summary>
    private async Task<long> GrpcEstimateAsync(ExecuteRequest request)
    {
        var context = new TestServerCallContext("/monkeycoder.v1.RouterService/Execute");
        context.RequestHeaders.Add("authorization", "Bearer " + _token);
        await _services.GetRequiredService<GrpcCallInterceptor>().UnaryServerHandler(request, context, (_, _) => Task.FromResult(new ExecuteResponse()));
        return Assert.Single(_limiter.Estimates.Skip(_limiter.Estimates.Count - 1));
    }

    /// <summary>The estimate admission charged an OpenAI chat completion with <paramref name="body"/>, through the OpenAI endpoint filter.</summary>
    private async Task<long> OpenAiEstimateAsync(string body)
    {
        var http = new DefaultHttpContext { RequestServices = _services };
        http.Request.Headers.Authorization = "Bearer " + _token;
        http.Request.ContentType = "application/json";
        http.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        var before = _limiter.Estimates.Count;
        await _services.GetRequiredService<OpenAiCallFilter>().InvokeAsync(http,
            new OpenAiOperation(CallOperations.ChatCompletions, OpenAiEndpoints.ChatCompletionsRpc, Admitted: true), _ => Task.CompletedTask);
        Assert.True(http.Response.StatusCode < 400, $"HTTP {http.Response.StatusCode}");
        Assert.Equal(before + 1, _limiter.Estimates.Count);
        return _limiter.Estimates[^1];
    }

    private static string Chat(string? maxTokens, params (string Role, string Content)[] messages) =>
        "{\"model\":\"auto\"" + (maxTokens is null ? "" : ",\"max_tokens\":" + maxTokens) + ",\"messages\":["
        + string.Join(",", messages.Select(m => $"{{\"role\":\"{m.Role}\",\"content\":\"{m.Content}\"}}")) + "]}";

    [Fact]
    public async Task SameContent_GrpcExecuteAndOpenAiChat_SameEstimate()
    {
        var grpc = await GrpcEstimateAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = Prompt, CustomInstructions = SystemPrompt, MaxTokens = 64 });
        var openAi = await OpenAiEstimateAsync(Chat("64", ("system", SystemPrompt), ("user", Prompt)));

        Assert.Equal((Prompt.Length + SystemPrompt.Length) / 4 + 1 + 64, grpc);
        Assert.Equal(grpc, openAi);
    }

    [Fact]
    public async Task NoMaxTokens_GrpcExecuteAndOpenAiChat_BothChargeTheConfiguredDefault()
    {
        var grpc = await GrpcEstimateAsync(new ExecuteRequest { TaskType = TaskType.Chat, Prompt = Prompt });
        var openAi = await OpenAiEstimateAsync(Chat(null, ("user", Prompt)));

        Assert.Equal(Prompt.Length / 4 + 1 + DefaultMaxTokens, grpc);
        Assert.Equal(grpc, openAi);
    }

    [Fact]
    public async Task OpenAiChat_HistoryAndSystemPrompt_Counted()
    {
        const string earlier = "Earlier question about the same code, with its full context pasted in.";
        const string answer = "An earlier answer that the model gave, also sent again as history.";
        var bare = await OpenAiEstimateAsync(Chat("64", ("user", Prompt)));
        var withHistory = await OpenAiEstimateAsync(Chat("64", ("user", earlier), ("assistant", answer), ("user", Prompt)));
        var withSystem = await OpenAiEstimateAsync(Chat("64", ("system", SystemPrompt), ("user", Prompt)));

        Assert.Equal((Prompt.Length + earlier.Length + answer.Length) / 4 + 1 + 64, withHistory);
        Assert.True(withHistory > bare);
        Assert.Equal((Prompt.Length + SystemPrompt.Length) / 4 + 1 + 64, withSystem);
    }

    [Fact]
    public async Task GrpcExecute_FilesCounted()
    {
        var request = new ExecuteRequest { TaskType = TaskType.Chat, Prompt = Prompt, MaxTokens = 64 };
        request.Files.Add(new SourceFile { Path = "a.cs", Content = new string('x', 400) });

        Assert.Equal((Prompt.Length + 400) / 4 + 1 + 64, await GrpcEstimateAsync(request));
    }

    [Fact]
    public void Tokens_EachPartOfTheTask_Counted()
    {
        var bare = new TaskRequest { TaskType = TaskType.Chat, Prompt = new string('p', 400), MaxTokens = 10 };

        Assert.Equal(100 + 1 + 10, AdmissionEstimate.Tokens(bare, maxTokensNamed: true, DefaultMaxTokens));
        Assert.Equal(100 + 1 + DefaultMaxTokens, AdmissionEstimate.Tokens(bare, maxTokensNamed: false, DefaultMaxTokens));
        Assert.Equal(200 + 1 + 10, AdmissionEstimate.Tokens(bare with { CustomInstructions = new string('s', 400) }, true, DefaultMaxTokens));
        Assert.Equal(200 + 1 + 10, AdmissionEstimate.Tokens(bare with { History = [new(MonkeyCoder.Core.Providers.ChatRole.User, new string('h', 400))] }, true, DefaultMaxTokens));
        Assert.Equal(200 + 1 + 10, AdmissionEstimate.Tokens(bare with { Files = [new TaskFile("a.cs", new string('f', 400), "")] }, true, DefaultMaxTokens));
        Assert.Equal(100 + 1 + 500, AdmissionEstimate.Tokens(bare with { MaxTokens = 500 }, true, DefaultMaxTokens));
    }

    [Fact]
    public void Tokens_ToolsToolTurnsAndImages_Counted()
    {
        var bare = new TaskRequest { TaskType = TaskType.Chat, Prompt = new string('p', 400), MaxTokens = 10 };
        var image = new MonkeyCoder.Core.Providers.ImagePart { Url = "https://example.com/a.png" };

        Assert.Equal(100 + 1 + 10 + (2 * MonkeyCoder.Core.Providers.TokenCounter.ImageTokens), AdmissionEstimate.Tokens(bare with
        {
            PromptImages = [image],
            History = [new(MonkeyCoder.Core.Providers.ChatRole.User, "") { Images = [image] }],
        }, true, DefaultMaxTokens));
        // Tool definition: name (8) + description (92) + schema (300) = 400 characters.
        Assert.Equal(200 + 1 + 10, AdmissionEstimate.Tokens(bare with
        {
            Tools = [new MonkeyCoder.Core.Providers.ToolDefinition("abcdefgh", new string('d', 92), new string('s', 300))],
        }, true, DefaultMaxTokens));
        // A tool call (id 4 + name 4 + arguments 392) and its result (id 4 + output 396).
        Assert.Equal(300 + 1 + 10, AdmissionEstimate.Tokens(bare with
        {
            History =
            [
                new(MonkeyCoder.Core.Providers.ChatRole.Assistant, "") { ToolCalls = [new MonkeyCoder.Core.Providers.ToolCall("c_01", "read", new string('a', 392))] },
                new(MonkeyCoder.Core.Providers.ChatRole.Tool, new string('r', 396)) { ToolCallId = "c_01" },
            ],
        }, true, DefaultMaxTokens));
    }
}
