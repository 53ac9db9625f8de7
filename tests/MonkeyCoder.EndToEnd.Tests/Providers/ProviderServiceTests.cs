using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Fakes;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Providers;

/// <summary>
/// The Service process (the AOT binary under the test command) configured by environment only
/// to call fake OpenAI, Anthropic, Gemini, Groq and xAI servers, plus an operator's keyless
/// OpenAI-compatible server added by configuration with its own model.
/// </summary>
public sealed class FakeProvidersFixture : IAsyncLifetime
{
    public const string LocalModel = "qwen2.5-coder-local";

    private ConfiguredServiceFixture? _service;

    public Dictionary<string, FakeProviderServer> Fakes { get; } = new(StringComparer.Ordinal);

    public ConfiguredServiceFixture Service => _service!;

    public async Task InitializeAsync()
    {
        Fakes["openai"] = await FakeOpenAiServer.StartNewAsync("openai");
        Fakes["anthropic"] = await FakeAnthropicServer.StartNewAsync();
        Fakes["google"] = await FakeGeminiServer.StartNewAsync();
        Fakes["groq"] = await FakeOpenAiServer.StartNewAsync("groq", "gsk_" + Guid.NewGuid().ToString("N"));
        Fakes["xai"] = await FakeOpenAiServer.StartNewAsync("xai", "xai-" + Guid.NewGuid().ToString("N"));
        Fakes["myvllm"] = await FakeOpenAiServer.StartNewAsync("myvllm", apiKey: "");

        var environment = new Dictionary<string, string>
        {
            ["OPENAI_API_KEY"] = Fakes["openai"].ApiKey,
            ["OPENAI_BASE_URL"] = Fakes["openai"].BaseUrl.ToString(),
            ["ANTHROPIC_API_KEY"] = Fakes["anthropic"].ApiKey,
            ["ANTHROPIC_BASE_URL"] = Fakes["anthropic"].BaseUrl.ToString(),
            ["GOOGLE_API_KEY"] = Fakes["google"].ApiKey,
            ["GOOGLE_BASE_URL"] = Fakes["google"].BaseUrl.ToString(),
            ["GROQ_API_KEY"] = Fakes["groq"].ApiKey,
            ["GROQ_BASE_URL"] = Fakes["groq"].BaseUrl.ToString(),
            ["XAI_API_KEY"] = Fakes["xai"].ApiKey,
            ["XAI_BASE_URL"] = Fakes["xai"].BaseUrl.ToString(),
            // An operator's own OpenAI-compatible server and model, by configuration alone.
            ["MonkeyCoder__Providers__myvllm__BaseUrl"] = Fakes["myvllm"].BaseUrl.ToString(),
            ["MonkeyCoder__Providers__myvllm__Protocol"] = "openai",
            ["MonkeyCoder__Providers__myvllm__DisplayName"] = "Team vLLM",
            ["MonkeyCoder__Providers__myvllm__Models__0__Id"] = LocalModel,
            ["MonkeyCoder__Providers__myvllm__Models__0__ContextWindow"] = "32768",
            ["MonkeyCoder__Providers__myvllm__Models__0__MaxOutputTokens"] = "4096",
            ["MonkeyCoder__Providers__myvllm__Models__0__Capabilities__CodeGeneration"] = "0.8",
            ["MonkeyCoder__Providers__myvllm__Models__0__Fallbacks__0"] = "openai/gpt-4.1-mini",
        };
        _service = new ConfiguredServiceFixture(environment);
        await _service.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_service is not null)
            {
                await _service.DisposeAsync();
            }
        }
        finally
        {
            foreach (var fake in Fakes.Values)
            {
                await fake.DisposeAsync();
            }
        }
    }
}

/// <summary>A Service process with the given environment.</summary>
public sealed class ConfiguredServiceFixture(IReadOnlyDictionary<string, string> environment) : ServiceFixture
{
    protected override IReadOnlyDictionary<string, string> Environment => environment;
}

[CollectionDefinition(Name)]
public sealed class FakeProvidersCollection : ICollectionFixture<FakeProvidersFixture>
{
    public const string Name = "fake-providers";
}

[Collection(FakeProvidersCollection.Name)]
public sealed class ProviderServiceTests(FakeProvidersFixture fixture)
{
    public static TheoryData<string> Providers => new() { "openai", "anthropic", "google", "groq", "xai", "myvllm" };

    private static ExecuteRequest Task(string provider) => new()
    {
        TaskType = TaskType.CodeGeneration,
        Prompt = "write fizzbuzz in python",
        MaxTokens = 300,
        PreferredProviders = { provider },
    };

    [Fact]
    public async Task Execute_IdenticalConcurrentCacheable_OneRequestReachesTheProvider()
    {
        var fake = fixture.Fakes["openai"];
        fake.Reset();
        // Slow enough that all calls arrive while the first is still upstream.
        fake.SetDefault(FakeResponse.Success("def flight(): return 1") with { FirstTokenDelay = TimeSpan.FromMilliseconds(400) });
        var request = Task("openai");
        request.Prompt = $"single flight {Guid.NewGuid():N}";
        request.Temperature = 0;

        var responses = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, 12).Select(_ =>
            fixture.Service.Router.ExecuteAsync(request, deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync));

        Assert.Equal(1, fake.RequestCount);
        Assert.All(responses, r => Assert.Equal("def flight(): return 1", r.Content));
        Assert.Single(responses, r => !r.CacheHit);
        fake.Reset();
    }

    [Fact]
    public async Task StreamExecute_IdenticalConcurrentCacheable_OneRequestReachesTheProvider()
    {
        var fake = fixture.Fakes["anthropic"];
        fake.Reset();
        fake.SetDefault(FakeResponse.Success("shared streamed answer for every caller") with { FirstTokenDelay = TimeSpan.FromMilliseconds(400) });
        var request = Task("anthropic");
        request.Prompt = $"stream flight {Guid.NewGuid():N}";
        request.Temperature = 0;

        async Task<string> ReadAsync()
        {
            using var call = fixture.Service.Router.StreamExecute(request, deadline: DateTime.UtcNow.AddSeconds(30));
            var text = new System.Text.StringBuilder();
            await foreach (var e in call.ResponseStream.ReadAllAsync())
            {
                text.Append(e.Delta?.Text);
            }

            return text.ToString();
        }

        var answers = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, 6).Select(_ => ReadAsync()));

        Assert.Equal(1, fake.RequestCount);
        Assert.All(answers, a => Assert.Equal("shared streamed answer for every caller", a));
        fake.Reset();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Execute_PreferredProvider_ReturnsThatProvidersContentAndUsage(string provider)
    {
        var fake = fixture.Fakes[provider];
        fake.Reset();
        fake.Enqueue(FakeResponse.Success($"Answer from {provider}: def fizzbuzz(n): ...", inputTokens: 57, outputTokens: 13));

        var response = await fixture.Service.Router.ExecuteAsync(Task(provider), deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.Equal(ExecutionStatus.Completed, response.Status);
        Assert.Equal(provider, response.Provider);
        Assert.Equal($"Answer from {provider}: def fizzbuzz(n): ...", response.Content);
        Assert.Equal(FinishReason.Stop, response.FinishReason);
        Assert.Equal(57, response.Usage.InputTokens);
        Assert.Equal(13, response.Usage.OutputTokens);
        Assert.Equal(70, response.Usage.TotalTokens);
        if (provider != "myvllm")
        {
            Assert.True(response.Usage.CostUsd > 0);
        }

        var upstream = Assert.Single(fake.Requests);
        Assert.Equal(response.Model, upstream.Model);
        // Unary Execute reads the provider's stream, so a break mid-answer is continued instead of restarted.
        Assert.True(upstream.IsStream);
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("anthropic")]
    [InlineData("google")]
    public async Task StreamExecute_PreferredProvider_StreamsDeltasThenFinalUsage(string provider)
    {
        var fake = fixture.Fakes[provider];
        fake.Reset();
        const string content = "Streaming answer in several small deltas, as the provider sent it.";
        fake.Enqueue(FakeResponse.Success(content, inputTokens: 44, outputTokens: 12));

        using var call = fixture.Service.Router.StreamExecute(Task(provider), deadline: DateTime.UtcNow.AddSeconds(30));
        var events = new List<StreamExecuteResponse>();
        await foreach (var item in call.ResponseStream.ReadAllAsync())
        {
            events.Add(item);
        }

        var final = events[^1].Final;
        Assert.Equal(provider, final.Provider);
        Assert.Equal(content, string.Concat(events.Where(e => e.EventCase == StreamExecuteResponse.EventOneofCase.Delta).Select(e => e.Delta.Text)));
        Assert.Equal(44, final.Usage.InputTokens);
        Assert.Equal(12, final.Usage.OutputTokens);
        Assert.True(Assert.Single(fake.Requests).IsStream);
    }

    [Fact]
    public async Task Execute_UpstreamContextLengthExceeded_InvalidArgumentWithProviderCode()
    {
        var fake = fixture.Fakes["anthropic"];
        fake.Reset();
        fake.SetDefault(FakeResponse.ContextLengthExceeded());
        try
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() =>
                fixture.Service.Router.ExecuteAsync(Task("anthropic"), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);

            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
            var info = ex.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>();
            Assert.Equal("CONTEXT_LENGTH_EXCEEDED", info.Reason);
            Assert.Equal("invalid_request_error", info.Metadata["provider_code"]);
            Assert.Equal("400", info.Metadata["http_status"]);
            // Every anthropic model has the same window: after the first refusal none is larger.
            Assert.Equal(1, fake.RequestCount);
        }
        finally
        {
            fake.Reset();
        }
    }

    [Fact]
    public async Task Execute_UpstreamContentFiltered_FailedPreconditionWithoutFailover()
    {
        var fake = fixture.Fakes["google"];
        fake.Reset();
        fake.Enqueue(FakeResponse.ContentFiltered());

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Service.Router.ExecuteAsync(Task("google"), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal("CONTENT_FILTERED", ex.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>().Reason);
        Assert.Equal(1, fake.RequestCount);
    }

    [Fact]
    public async Task Execute_CallerDeadlineWhileUpstreamHangs_UpstreamRequestEndsAtOnce()
    {
        var fake = fixture.Fakes["xai"];
        fake.Reset();
        fake.SetDefault(FakeResponse.Hang());
        try
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() =>
                fixture.Service.Router.ExecuteAsync(Task("xai"), deadline: DateTime.UtcNow.AddSeconds(1.5)).ResponseAsync);
            Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);

            // The Service's deadline reached the upstream HTTP request: the fake saw the client leave.
            var upstream = Assert.Single(fake.Requests);
            await upstream.Ended.WaitAsync(TimeSpan.FromSeconds(3));
            Assert.True(upstream.ClientDisconnected);
        }
        finally
        {
            fake.Reset();
        }
    }

    [Fact]
    public async Task ListModels_ProviderKeysSet_ListsEveryEnabledProvidersModels()
    {
        var response = await fixture.Service.Models.ListModelsAsync(new ListModelsRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        var ids = response.Models.Select(m => m.Id).ToHashSet();

        foreach (var id in new[] { "gpt-6.2-sol", "gpt-6.1-terra", "claude-sonnet-5-5", "gemini-4-argon", "openai/gpt-oss-120b", "grok-4.3", FakeProvidersFixture.LocalModel, "sim-fast" })
        {
            Assert.Contains(id, ids);
        }

        // Deprecated models stay resolvable by name but are not listed.
        Assert.DoesNotContain("gpt-4.5-preview", ids);
        Assert.DoesNotContain("claude-sonnet-4-20250514", ids);
        var local = response.Models.Single(m => m.Id == FakeProvidersFixture.LocalModel);
        Assert.Equal("myvllm", local.Provider);
        Assert.Equal(32768, local.ContextWindow);
    }

    [Fact]
    public async Task ListProviders_ProvidersEnabled_ShowsFakeBaseUrlsAndNoKeyAnywhere()
    {
        var response = await fixture.Service.Models.ListProvidersAsync(new ListProvidersRequest { IncludeDisabled = true }, deadline: DateTime.UtcNow.AddSeconds(10));

        foreach (var (name, fake) in fixture.Fakes)
        {
            var provider = response.Providers.Single(p => p.Name == name);
            Assert.True(provider.Enabled, name);
            Assert.Equal(fake.BaseUrl.ToString().TrimEnd('/'), provider.BaseUrl.TrimEnd('/'));
        }

        Assert.Equal("Team vLLM", response.Providers.Single(p => p.Name == "myvllm").DisplayName);
        var text = response.ToString();
        var output = string.Join('\n', fixture.Service.Host.Output);
        foreach (var fake in fixture.Fakes.Values.Where(f => f.ApiKey.Length > 0))
        {
            Assert.DoesNotContain(fake.ApiKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain(fake.ApiKey, output, StringComparison.Ordinal);
        }
    }
}

/// <summary>A Service with only an xAI key (no base URL, no calls): the key alone enables the provider.</summary>
public sealed class ProviderKeyOnlyTests
{
    [Fact]
    public async Task ListModels_OnlyXaiKeySet_ListsXaiAndSimulatedModelsOnly()
    {
        const string key = "xai-only-key-for-listing-0123456789";
        await using var host = await HostProcess.StartServiceAsync(new Dictionary<string, string> { ["XAI_API_KEY"] = key });
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var models = new ModelService.ModelServiceClient(channel);

        var listed = await RetryAsync(() => models.ListModelsAsync(new ListModelsRequest(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        var providers = await models.ListProvidersAsync(new ListProvidersRequest(), deadline: DateTime.UtcNow.AddSeconds(10));

        Assert.Contains(listed.Models, m => m.Id == "grok-4.3");
        Assert.Contains(listed.Models, m => m.Id == "sim-fast");
        Assert.DoesNotContain(listed.Models, m => m.Provider is "openai" or "anthropic" or "google" or "groq");
        Assert.Equal(["simulated", "xai"], providers.Providers.Select(p => p.Name).Order().ToArray());
        Assert.Equal("https://api.x.ai/v1", providers.Providers.Single(p => p.Name == "xai").BaseUrl);
        Assert.DoesNotContain(key, providers.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(key, string.Join('\n', host.Output), StringComparison.Ordinal);
        Assert.Empty(host.ErrorLines);
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && attempt < 100)
            {
                await System.Threading.Tasks.Task.Delay(50);
            }
        }
    }
}
