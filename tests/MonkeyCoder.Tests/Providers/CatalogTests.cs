using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Tests.Providers;

public sealed class CatalogTests
{
    private static readonly ModelCatalog Catalog = TestCatalog.Shipped();

    [Theory]
    [InlineData("openai", "gpt-6.2-astra", "gpt-6.2-sol", "gpt-6.1-sol", "gpt-6.1-terra", "gpt-6-luna")]
    [InlineData("anthropic", "claude-fable-5-2", "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5")]
    [InlineData("google", "gemini-4-carbon", "gemini-4-argon", "gemini-4-neon", "gemini-4-hydrogen", "gemini-3.8-flash", "gemini-3.5-flash-lite", "gemini-2.5-flash-lite")]
    [InlineData("groq", "openai/gpt-oss-120b", "openai/gpt-oss-20b", "qwen/qwen3.8-27b", "qwen/qwen3.6-27b")]
    [InlineData("xai", "grok-4.7", "grok-4.3", "grok-4.20-0309-non-reasoning")]
    public void Shipped_ListsCurrentModelsOfEachProvider(string provider, params string[] ids)
    {
        Assert.NotNull(Catalog.FindProvider(provider));
        foreach (var id in ids)
        {
            var model = Catalog.Find(id, provider);
            Assert.NotNull(model);
            Assert.Equal(provider, model.Provider);
            Assert.False(model.IsDeprecated, id);
            Assert.True(model.ContextWindow > model.MaxOutputTokens / 2 && model.MaxOutputTokens > 0, id);
            Assert.True(model.InputPricePerMillion > 0 && model.OutputPricePerMillion >= model.InputPricePerMillion, id);
            Assert.True(model.TypicalLatencyMs > 0, id);
            Assert.NotEmpty(model.Fallbacks);
        }
    }

    [Fact]
    public void Shipped_EveryFallbackAndReplacementResolves()
    {
        foreach (var model in Catalog.Models)
        {
            foreach (var fallback in model.Fallbacks)
            {
                var target = Catalog.Find(fallback, model.Provider);
                Assert.True(target is not null, $"{model.Key} falls back to unknown '{fallback}'");
                Assert.NotEqual(model.Key, target.Key);
            }

            if (model.IsDeprecated)
            {
                Assert.True(model.Replacement is not null && Catalog.Find(model.Replacement, model.Provider) is { IsDeprecated: false }, $"{model.Key} has no active replacement");
            }
        }
    }

    [Theory]
    [InlineData("""["gpt-4.2-typo"]""", null)]
    [InlineData("""["a-1"]""", null)]
    [InlineData("[]", "\"missing\"")]
    public void Constructor_FallbackOrReplacementNotInCatalog_RefusedNamingIt(string fallbacks, string? replacement)
    {
        var json = $$"""
            { "providers": [ { "name": "p", "protocol": "openai", "baseUrl": "http://localhost/v1" } ],
              "models": [
                { "id": "a-1", "provider": "p", "contextWindow": 1000, "maxOutputTokens": 100, "fallbacks": {{fallbacks}}, "replacement": {{replacement ?? "null"}} },
                { "id": "b-1", "provider": "p", "contextWindow": 1000, "maxOutputTokens": 100 } ] }
            """;
        var path = Path.Combine(Path.GetTempPath(), $"catalog-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try
        {
            var ex = Assert.Throws<InvalidDataException>(() => new ModelCatalog(ModelCatalog.LoadDocument(path)));
            Assert.Contains("p/a-1", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Shipped_AliasesResolve_AndReasoningModelsFlagged()
    {
        Assert.Equal("claude-sonnet-4-20250514", Catalog.Find("claude-sonnet-4")!.Id);
        Assert.Equal("claude-3-5-haiku-20241022", Catalog.Find("claude-3-5-haiku-latest")!.Id);
        Assert.True(Catalog.Find("o3")!.Reasoning);
        Assert.True(Catalog.Find("o4-mini")!.Reasoning);
        Assert.False(Catalog.Find("gpt-4.1")!.Reasoning);
        Assert.Equal("grok-4.20-0309-non-reasoning", Catalog.Find("grok-4.20-non-reasoning")!.Id);
        Assert.True(Catalog.Find("gpt-6.2-sol")!.Reasoning);
        Assert.True(Catalog.Find("claude-opus-5-5")!.Reasoning);
    }

    [Fact]
    public void Shipped_SimulatedModelsUnchanged()
    {
        var fast = Catalog.Find("sim-fast")!;
        var pro = Catalog.Find("sim-pro")!;
        Assert.Equal((128000, 16384, 0.1, 0.4, 300), (fast.ContextWindow, fast.MaxOutputTokens, fast.InputPricePerMillion, fast.OutputPricePerMillion, fast.TypicalLatencyMs));
        Assert.Equal((200000, 32768, 2.0, 8.0, 900), (pro.ContextWindow, pro.MaxOutputTokens, pro.InputPricePerMillion, pro.OutputPricePerMillion, pro.TypicalLatencyMs));
    }

    [Fact]
    public void Merge_ConfiguredModelWithSameId_ReplacesCatalogEntry()
    {
        var document = ModelCatalog.LoadDocument(null);
        var changed = Catalog.Find("gpt-4o-mini")! with { InputPricePerMillion = 0.01 };
        var merged = new ModelCatalog(ModelCatalog.Merge(document, [new CatalogProviderOverride("openai", null, "http://127.0.0.1:1/v1", null, [changed])]));

        Assert.Equal(0.01, merged.Find("gpt-4o-mini", "openai")!.InputPricePerMillion);
        Assert.Equal(Catalog.Models.Count, merged.Models.Count);
        Assert.Equal("http://127.0.0.1:1/v1", merged.FindProvider("openai")!.BaseUrl);
    }
}
