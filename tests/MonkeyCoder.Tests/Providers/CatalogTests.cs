using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Tests.Providers;

public sealed class CatalogTests
{
    private static readonly ModelCatalog Catalog = TestCatalog.Shipped();

    [Theory]
    [InlineData("openai", "gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini")]
    [InlineData("anthropic", "claude-opus-4-20250514", "claude-sonnet-4-20250514", "claude-3-5-haiku-20241022")]
    [InlineData("google", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite")]
    [InlineData("groq", "llama-3.3-70b-versatile", "llama-3.1-8b-instant")]
    [InlineData("xai", "grok-3", "grok-3-mini")]
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

    [Fact]
    public void Shipped_AliasesResolve_AndReasoningModelsFlagged()
    {
        Assert.Equal("claude-sonnet-4-20250514", Catalog.Find("claude-sonnet-4")!.Id);
        Assert.Equal("claude-3-5-haiku-20241022", Catalog.Find("claude-3-5-haiku-latest")!.Id);
        Assert.True(Catalog.Find("o3")!.Reasoning);
        Assert.True(Catalog.Find("o4-mini")!.Reasoning);
        Assert.False(Catalog.Find("gpt-4.1")!.Reasoning);
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
