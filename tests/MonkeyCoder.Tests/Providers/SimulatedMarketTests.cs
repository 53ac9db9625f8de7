using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Providers.Simulated;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Providers;

public sealed class SimulatedMarketTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"monkey-market-test-{Environment.UserName}-{Guid.NewGuid():N}.json");

    public void Dispose() => File.Delete(_path);

    private const string Market = """
        {
          "seed": 7,
          // comments and trailing commas are allowed
          "models": [
            { "id": "sim-coder", "inputPricePerMillion": 1, "outputPricePerMillion": 4, "latencyMs": 0, "quality": 3,
              "tasks": { "code_generation": { "quality": 4.6 }, "documentation": { "errorRate": 1 } } },
            { "id": "sim-fast", "latencyMs": 0, "capabilities": { "codeGeneration": 0.5 } },
          ]
        }
        """;

    private SimulatedMarket Load() =>
        new(Options.Create(new SimulatedProviderOptions { MarketPath = _path }), TimeProvider.System, NullLogger<SimulatedMarket>.Instance);

    private static ProviderRequest Request(CatalogModel model, TaskType type) => new()
    {
        Model = model,
        Messages = [new ChatMessage(ChatRole.User, "write a date parser")],
        MaxTokens = 64,
        TaskType = type,
    };

    [Fact]
    public async Task Market_PerTaskBehaviour_QualityErrorsAndCatalogEntries()
    {
        File.WriteAllText(_path, Market);
        var market = Load();
        Assert.Equal(4.6, market.Behaviour("sim-coder", TaskType.CodeGeneration)!.Value.Quality);
        Assert.Equal(3, market.Behaviour("sim-coder", TaskType.Chat)!.Value.Quality);
        Assert.Null(market.Behaviour("sim-pro", TaskType.Chat));

        // Catalog fields join the catalog; omitted ones keep their defaults; sim-fast is replaced.
        var options = new CatalogOptions();
        new ConfigureCatalogFromMarket(market).Configure(options);
        var catalog = new ModelCatalog(ModelCatalog.Merge(ModelCatalog.LoadDocument(null), options.ConfiguredProviders()));
        var coder = catalog.Find("simulated/sim-coder")!;
        Assert.Equal(128_000, coder.ContextWindow);
        Assert.Equal(4, coder.OutputPricePerMillion);
        Assert.Equal(0.5, catalog.Find("simulated/sim-fast")!.Capabilities.CodeGeneration);
        Assert.NotNull(catalog.Find("simulated/sim-pro"));

        var provider = new SimulatedProvider(Options.Create(new SimulatedProviderOptions { FirstTokenDelayMs = 0, TokensPerSecond = 0 }),
            TestCatalog.Tokens, TimeProvider.System, NullLogger<SimulatedProvider>.Instance, market);
        var answer = await provider.CompleteAsync(Request(coder, TaskType.CodeGeneration), CancellationToken.None);
        Assert.NotEmpty(answer.Content);
        var failure = await Assert.ThrowsAsync<ProviderException>(() => provider.CompleteAsync(Request(coder, TaskType.Documentation), CancellationToken.None));
        Assert.Equal(ProviderErrorClass.Overloaded, failure.ErrorClass);
        await Assert.ThrowsAsync<ProviderException>(async () =>
        {
            await foreach (var _ in provider.StreamAsync(Request(coder, TaskType.Documentation), CancellationToken.None))
            {
            }
        });
    }

    [Fact]
    public async Task Market_FileRewrittenWhileRunning_BehaviourFollowsAndBadFileKeepsLastGood()
    {
        File.WriteAllText(_path, Market);
        var market = Load();
        Assert.Equal(0, market.Behaviour("sim-coder", TaskType.CodeGeneration)!.Value.ErrorRate);

        File.WriteAllText(_path, Market.Replace("\"quality\": 4.6", "\"quality\": 4.6, \"errorRate\": 0.8", StringComparison.Ordinal));
        File.SetLastWriteTimeUtc(_path, DateTime.UtcNow.AddSeconds(5));
        await Task.Delay(300);
        Assert.Equal(0.8, market.Behaviour("sim-coder", TaskType.CodeGeneration)!.Value.ErrorRate);

        File.WriteAllText(_path, "{ not json");
        File.SetLastWriteTimeUtc(_path, DateTime.UtcNow.AddSeconds(10));
        await Task.Delay(300);
        Assert.Equal(0.8, market.Behaviour("sim-coder", TaskType.CodeGeneration)!.Value.ErrorRate);
    }

    [Fact]
    public void Market_InvalidAtStart_StopsNamingTheSetting()
    {
        File.WriteAllText(_path, """{ "models": [ { "id": "x", "errorRate": 2 } ] }""");
        var ex = Assert.Throws<OptionsValidationException>(Load);
        Assert.Contains("SIMULATED_MARKET_PATH", ex.Message, StringComparison.Ordinal);
    }
}
