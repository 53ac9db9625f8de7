using System.Runtime.CompilerServices;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MonkeyCoder.Core.Edge;
using MonkeyCoder.Core.Edge.OpenAi;
using MonkeyCoder.Core.Hosting;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Edge;

/// <summary>
/// The OpenAI edge's model choice and failover, through the real composition (planner,
/// TaskExecutor, ExecutionEngine) with scripted providers in place of upstream APIs.
/// </summary>
public sealed class OpenAiChatServiceTests : IDisposable
{
    private const string Catalog = """
        {
          "providers": [
            { "name": "alpha", "protocol": "openai" },
            { "name": "beta", "protocol": "openai" },
            { "name": "offline", "protocol": "openai" }
          ],
          "models": [
            { "id": "alpha-1", "provider": "alpha", "contextWindow": 100000, "maxOutputTokens": 4096, "fallbacks": ["beta/beta-1"],
              "capabilities": { "codeGeneration": 0.5, "reasoning": 0.5, "reliability": 0.9 } },
            { "id": "beta-1", "provider": "beta", "contextWindow": 100000, "maxOutputTokens": 4096,
              "capabilities": { "codeGeneration": 0.9, "reasoning": 0.9, "reliability": 0.9 } },
            { "id": "beta-2", "provider": "beta", "aliases": ["b2"], "contextWindow": 100000, "maxOutputTokens": 4096,
              "capabilities": { "codeGeneration": 0.6, "reasoning": 0.6, "reliability": 0.9 } },
            { "id": "tiny-1", "provider": "alpha", "contextWindow": 300, "maxOutputTokens": 256, "fallbacks": ["beta/beta-1"],
              "capabilities": { "codeGeneration": 0.5, "reasoning": 0.5, "reliability": 0.9 } },
            { "id": "off-1", "provider": "offline", "contextWindow": 100000, "maxOutputTokens": 4096, "fallbacks": ["beta/beta-2"] }
          ]
        }
        """;

    /// <summary>Answers "answer from {model}" unless the model is listed as failing, then throws that class.</summary>
    private sealed class ScriptedProvider(string name, Dictionary<string, ProviderErrorClass> failing) : IProviderClient
    {
        public List<string> Calls { get; } = [];

        public string Provider => name;

        public Uri? BaseUrl => null;

        public Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            lock (Calls)
            {
                Calls.Add(request.Model.Id);
            }

            return failing.TryGetValue(request.Model.Id, out var error)
                ? throw new ProviderException(name, error, "scripted failure")
                : Task.FromResult(new ProviderResponse($"answer from {request.Model.Id}", FinishReason.Length, new TokenUsage(11, 7), request.Model.Id));
        }

        public async IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            lock (Calls)
            {
                Calls.Add(request.Model.Id);
            }

            await Task.Yield();
            if (failing.TryGetValue(request.Model.Id, out var error))
            {
                throw new ProviderException(name, error, "scripted failure");
            }

            yield return ProviderStreamEvent.Content("answer ");
            yield return ProviderStreamEvent.Content("from " + request.Model.Id);
            yield return ProviderStreamEvent.Final(FinishReason.Stop, new TokenUsage(11, 3));
        }
    }

    private readonly string _catalogPath = Path.Combine(Path.GetTempPath(), $"mc-edge-{Guid.NewGuid():N}.json");
    private readonly Dictionary<string, ProviderErrorClass> _failing = new();
    private readonly ScriptedProvider _alpha;
    private readonly ScriptedProvider _beta;
    private readonly ServiceProvider _services;

    public OpenAiChatServiceTests()
    {
        File.WriteAllText(_catalogPath, Catalog);
        _alpha = new ScriptedProvider("alpha", _failing);
        _beta = new ScriptedProvider("beta", _failing);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MonkeyCoder:Catalog:Path"] = _catalogPath,
            ["MonkeyCoder:Simulated:Enabled"] = "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddMonkeyCoder(configuration);
        services.AddSingleton<IProviderClient>(_alpha);
        services.AddSingleton<IProviderClient>(_beta);
        services.AddMonkeyCoderEdge(configuration);
        _services = services.BuildServiceProvider();
    }

    public void Dispose()
    {
        _services.Dispose();
        File.Delete(_catalogPath);
    }

    private OpenAiChatService Chat => _services.GetRequiredService<OpenAiChatService>();

    private Task<MonkeyCoder.Core.Routing.RoutePlan> PlanAsync(ChatCall call) => Chat.PlanAsync(call, null, CancellationToken.None).AsTask();

    private static ChatCall Call(string model, params string[] fallbacks) => ChatRequestMapper.Map(new ChatCompletionRequest
    {
        Model = model,
        Messages = [new ChatMessageDto { Role = "user", Content = System.Text.Json.JsonDocument.Parse("\"write a haiku\"").RootElement }],
        Fallbacks = [.. fallbacks],
        MaxTokens = 64,
    });

    [Fact]
    public async Task PlanAsync_NamedModel_RequestedThenCatalogChainThenRequestFallbacksEachOnce()
    {
        var plan = await PlanAsync(Call("alpha-1", "b2", "beta-1", "alpha-1"));
        Assert.Equal(["alpha/alpha-1", "beta/beta-1", "beta/beta-2"], plan.Candidates.Select(c => c.Model.Key));
        Assert.Equal(Strategy.Single, plan.Strategy);
        Assert.Equal("alpha-1", plan.Task.ModelPreferences["alpha"]);
    }

    [Fact]
    public async Task PlanAsync_NamedModelFitsAndHealthy_RequestedFirstWithTheRouterExplanations()
    {
        var plan = await PlanAsync(Call("alpha-1"));
        Assert.Equal(["alpha/alpha-1", "beta/beta-1"], plan.Candidates.Select(c => c.Model.Key));
        Assert.Equal("requested by the caller", plan.Candidates[0].Reasons[0]);
        Assert.Contains(plan.Candidates[0].Reasons, r => r.StartsWith("fits its 100000-token window", StringComparison.Ordinal));
        Assert.Equal("catalog fallback of alpha/alpha-1", plan.Candidates[1].Reasons[0]);
        Assert.Equal("model named by the caller: alpha/alpha-1", plan.Reasons[0]);
        Assert.Equal(0, plan.Candidates[0].Breakdown["position"]);
    }

    [Fact]
    public async Task CompleteAsync_NamedModelWindowTooSmall_ItsChainAnswersAndThePlanSaysWhy()
    {
        var call = Call("tiny-1") with { Task = Call("tiny-1").Task with { Prompt = string.Join(' ', Enumerable.Repeat("word", 400)) } };
        var plan = await PlanAsync(call);
        Assert.Equal(["beta/beta-1"], plan.Candidates.Select(c => c.Model.Key));
        Assert.Contains(plan.Reasons, r => r.StartsWith("left out alpha/tiny-1: input of ", StringComparison.Ordinal) && r.Contains("of its 300-token window, less than the 64 an answer needs", StringComparison.Ordinal));

        var completion = await Chat.CompleteAsync(call, CallerIdentity.Anonymous, CancellationToken.None);
        Assert.Equal("beta-1", completion.Model);
        Assert.Empty(_alpha.Calls);
    }

    [Fact]
    public async Task PlanAsync_NamedModelCircuitOpen_ItsChainGoesFirstAndThePlanSaysWhy()
    {
        var breaker = _services.GetRequiredService<MonkeyCoder.Core.Execution.Resilience.CircuitBreaker>();
        for (var i = 0; i < 5; i++)
        {
            await breaker.OnFailureAsync("alpha/alpha-1", ProviderErrorClass.Overloaded, CancellationToken.None);
        }

        var plan = await PlanAsync(Call("alpha-1", "beta-2"));
        Assert.Equal(["beta/beta-1", "beta/beta-2", "alpha/alpha-1"], plan.Candidates.Select(c => c.Model.Key));
        Assert.Contains(plan.Candidates[^1].Reasons, r => r.StartsWith("circuit open for ", StringComparison.Ordinal) && r.EndsWith("after 5 consecutive failures: tried last", StringComparison.Ordinal));
        Assert.Equal("beta/beta-1 goes first of 3 (score " + plan.Candidates[0].Score.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) + ")", plan.Reasons[^1]);

        var completion = await Chat.CompleteAsync(Call("alpha-1", "beta-2"), CallerIdentity.Anonymous, CancellationToken.None);
        Assert.Equal("beta-1", completion.Model);
        Assert.Empty(_alpha.Calls);
    }

    [Fact]
    public async Task PlanAsync_Auto_RouterRankingThenRequestFallbacksNotAlreadyRanked()
    {
        var plan = await PlanAsync(Call("auto", "beta-2", "off-1"));
        var keys = plan.Candidates.Select(c => c.Model.Key).ToList();
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Contains("beta/beta-2", keys);
        Assert.DoesNotContain("offline/off-1", keys);
    }

    [Fact]
    public async Task PlanAsync_ProviderNotEnabled_SkippedWithReason()
    {
        var plan = await PlanAsync(Call("off-1"));
        Assert.Equal(["beta/beta-2"], plan.Candidates.Select(c => c.Model.Key));
        Assert.Contains(plan.Reasons, r => r.Contains("offline/off-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlanAsync_UnknownModel_NotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await PlanAsync(Call("gpt-nonexistent")));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal("model_not_found", OpenAiErrors.FromRpc(ex).Body.Error.Code);
    }

    [Fact]
    public async Task PlanAsync_UnknownFallback_InvalidArgumentNamingIt()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await PlanAsync(Call("alpha-1", "nope")));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("fallbacks[0]", OpenAiErrors.FromRpc(ex).Body.Error.Param);
    }

    [Fact]
    public async Task CompleteAsync_NamedModelAnswers_ResponseNamesItWithUsage()
    {
        var completion = await Chat.CompleteAsync(Call("beta-2"), CallerIdentity.Anonymous, CancellationToken.None);
        Assert.Equal("beta-2", completion.Model);
        Assert.Equal("answer from beta-2", completion.Choices[0].Message.Content);
        // Unary calls read the provider's stream (so a broken one is continued): its final event's finish and usage.
        Assert.Equal("stop", completion.Choices[0].FinishReason);
        Assert.Equal(11, completion.Usage.PromptTokens);
        Assert.Equal(3, completion.Usage.CompletionTokens);
        Assert.Equal(14, completion.Usage.TotalTokens);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteAsync_RequestedModelRateLimited_CatalogFallbackAnswersAndIsNamed()
    {
        _failing["alpha-1"] = ProviderErrorClass.RateLimited;
        var completion = await Chat.CompleteAsync(Call("alpha-1", "beta-2"), CallerIdentity.Anonymous, CancellationToken.None);
        Assert.Equal("beta-1", completion.Model);
        Assert.Equal(["alpha-1"], _alpha.Calls.Distinct());
        Assert.Equal(["beta-1"], _beta.Calls);
    }

    [Fact]
    public async Task CompleteAsync_RequestedAndCatalogChainFail_RequestFallbackAnswers()
    {
        _failing["alpha-1"] = ProviderErrorClass.Overloaded;
        _failing["beta-1"] = ProviderErrorClass.Timeout;
        var completion = await Chat.CompleteAsync(Call("alpha-1", "beta-2"), CallerIdentity.Anonymous, CancellationToken.None);
        Assert.Equal("beta-2", completion.Model);
        Assert.Equal("beta-2", _beta.Calls[^1]);
    }

    [Fact]
    public async Task StreamAsync_FailoverBeforeContent_EveryChunkNamesTheAnsweringModel()
    {
        _failing["alpha-1"] = ProviderErrorClass.Overloaded;
        var call = ChatRequestMapper.Map(new ChatCompletionRequest
        {
            Model = "alpha-1",
            Stream = true,
            StreamOptions = new StreamOptionsDto { IncludeUsage = true },
            Messages = [new ChatMessageDto { Role = "user", Content = System.Text.Json.JsonDocument.Parse("\"hi\"").RootElement }],
        });
        var chunks = new List<ChatCompletionChunk>();
        await foreach (var chunk in Chat.StreamAsync(call, CallerIdentity.Anonymous, CancellationToken.None))
        {
            chunks.Add(chunk);
        }

        Assert.Equal("assistant", chunks[0].Choices[0].Delta.Role);
        Assert.Equal("answer from beta-1", string.Concat(chunks.SelectMany(c => c.Choices).Select(c => c.Delta.Content)));
        var finish = chunks[^2];
        Assert.Equal("stop", finish.Choices[0].FinishReason);
        Assert.Equal("beta-1", finish.Model);
        var usage = chunks[^1];
        Assert.Empty(usage.Choices);
        Assert.Equal(14, usage.Usage!.TotalTokens);
        Assert.Equal("beta-1", usage.Model);
        Assert.All(chunks, c => Assert.Equal("beta-1", c.Model));
        Assert.Single(chunks.Select(c => c.Id).Distinct());
    }

    [Fact]
    public async Task StreamAsync_EveryCandidateFails_ThrowsBeforeAnyChunk()
    {
        _failing["beta-2"] = ProviderErrorClass.Overloaded;
        var call = ChatRequestMapper.Map(new ChatCompletionRequest
        {
            Model = "beta-2",
            Stream = true,
            Messages = [new ChatMessageDto { Role = "user", Content = System.Text.Json.JsonDocument.Parse("\"hi\"").RootElement }],
        });
        var received = 0;
        await Assert.ThrowsAsync<ProviderException>(async () =>
        {
            await foreach (var _ in Chat.StreamAsync(call, CallerIdentity.Anonymous, CancellationToken.None))
            {
                received++;
            }
        });
        Assert.Equal(0, received);
    }
}
