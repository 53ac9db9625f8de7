using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MonkeyCoder.Core.Hosting;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.EndToEnd.Tests.Fakes;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Providers;

/// <summary>
/// An operator-added model without a window takes the one its server's model list reports
/// (vLLM's <c>max_model_len</c>), read by the health probe over HTTP, and routing uses it.
/// </summary>
public sealed class ReportedContextWindowTests
{
    [Fact]
    public async Task Probe_VllmReportsMaxModelLen_UnsetWindowTakesItAndRouterRejectsWhatNoLongerFits()
    {
        await using var fake = await FakeOpenAiServer.StartNewAsync("myvllm");
        fake.ListedModels = ["local-coder"];
        fake.MaxModelLen = 4096;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MonkeyCoder:Providers:myvllm:BaseUrl"] = fake.BaseUrl.ToString(),
            ["MonkeyCoder:Providers:myvllm:ApiKey"] = fake.ApiKey,
            ["MonkeyCoder:Providers:myvllm:Models:0:Id"] = "local-coder",
            ["MonkeyCoder:Providers:myvllm:Models:0:MaxOutputTokens"] = "1024",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMonkeyCoder(configuration);
        await using var provider = services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<ModelCatalog>();
        var router = provider.GetRequiredService<ITaskRouter>();
        var probe = Assert.IsAssignableFrom<IProviderProbe>(provider.GetRequiredService<ProviderRegistry>().Get("myvllm"));

        // About 6,000 tokens of input: fits the 32,768-token default, not the server's 4,096.
        var task = new TaskRequest
        {
            TaskType = TaskType.CodeGeneration,
            Prompt = "Review this code: " + string.Concat(Enumerable.Range(0, 1500).Select(i => $"int v{i} = {i}; ")),
            MaxTokens = 512,
            PreferredProviders = ["myvllm"],
        };
        Assert.Equal(CatalogModelOptions.DefaultContextWindow, catalog.Find("myvllm/local-coder")!.ContextWindow);
        var before = await router.PlanAsync(task, CancellationToken.None);
        Assert.Equal("myvllm/local-coder", Assert.Single(before.Candidates).Model.Key);

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.True(result.Healthy, result.Detail);
        Assert.Equal(1, fake.ModelListCount);
        Assert.Equal(4096, catalog.Find("myvllm/local-coder")!.ContextWindow);
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => router.PlanAsync(task, CancellationToken.None).AsTask());
        Assert.Contains("4096-token window", refused.ToString(), StringComparison.Ordinal);

        // A short task still routes to it, within the reported window.
        var small = await router.PlanAsync(task with { Prompt = "write a function that adds two numbers" }, CancellationToken.None);
        Assert.Equal("myvllm/local-coder", Assert.Single(small.Candidates).Model.Key);
    }
}
