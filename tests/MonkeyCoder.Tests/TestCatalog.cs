using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Tests;

/// <summary>Catalogs for unit tests: the shipped one, or a small hand-made one.</summary>
internal static class TestCatalog
{
    public static ModelCatalog Shipped() => new(ModelCatalog.LoadDocument(null));

    public static CatalogModel Model(string id, string provider = "simulated", int window = 128_000, double code = 0.8, double reasoning = 0.8, double price = 1) => new()
    {
        Id = id,
        Provider = provider,
        ContextWindow = window,
        MaxOutputTokens = 8192,
        InputPricePerMillion = price,
        OutputPricePerMillion = price * 4,
        Capabilities = new ModelScores { CodeGeneration = code, Reasoning = reasoning, Reliability = 0.95 },
    };

    public static ModelCatalog Of(params CatalogModel[] models) => new(new CatalogDocument
    {
        Providers = models.Select(m => m.Provider).Distinct().Select(p => new CatalogProvider { Name = p, Protocol = "simulated" }).ToList(),
        Models = models,
    });

    /// <summary>A counter whose vocabulary is loaded, so routing's upper bounds are the exact counts in every test.</summary>
    public static readonly TokenCounter Tokens = Loaded();

    private static TokenCounter Loaded()
    {
        var tokens = new TokenCounter();
        tokens.BeginLoad().GetAwaiter().GetResult();
        return tokens;
    }
}
