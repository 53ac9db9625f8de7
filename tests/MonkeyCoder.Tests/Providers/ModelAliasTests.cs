using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Tests.Providers;

/// <summary>Configured and default model aliases (MonkeyCoder:Models:Aliases) resolve everywhere the catalog does.</summary>
public sealed class ModelAliasTests
{
    private static ModelCatalog With(Dictionary<string, string>? aliases) => new(ModelCatalog.LoadDocument(null), aliases);

    [Theory]
    [InlineData("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-5-5")]
    [InlineData("claude-haiku-4-5-20251001", "anthropic/claude-haiku-5-5")]
    [InlineData("claude-opus-4-1-20250805", "anthropic/claude-opus-5-5")]
    [InlineData("gpt-5-codex", "openai/gpt-6.2-sol")]
    [InlineData("GPT-5", "openai/gpt-6.2-sol")]
    public void Defaults_NamesAgentsSend_Resolve(string name, string key)
    {
        var catalog = With(null);
        Assert.Equal(key, catalog.Find(name)?.Key);
        Assert.Contains(name, catalog.Find(name)!.Aliases, StringComparer.OrdinalIgnoreCase);
    }

    [Fact]
    public void Configured_AddsNewName_AndOverridesADefault()
    {
        var catalog = With(new() { ["my-coder"] = "gpt-4.1", ["gpt-5-codex"] = "anthropic/claude-sonnet-5-5" });
        Assert.Equal("openai/gpt-4.1", catalog.Find("my-coder")?.Key);
        Assert.Equal("anthropic/claude-sonnet-5-5", catalog.Find("gpt-5-codex")?.Key);
    }

    [Fact]
    public void Configured_EmptyTarget_RemovesADefault() =>
        Assert.Null(With(new() { ["gpt-5"] = "" }).Find("gpt-5"));

    [Fact]
    public void Configured_UnknownTarget_FailsTheStart()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => ModelCatalog.Create(
            Options.Create(new CatalogOptions()),
            Options.Create(new ModelAliasOptions { Aliases = { ["x"] = "no-such-model" } })));
        Assert.Contains("no-such-model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configured_NameOfAnotherModel_FailsTheStart() =>
        Assert.Throws<InvalidDataException>(() => With(new() { ["gpt-4.1"] = "claude-sonnet-5-5" }));

    [Fact]
    public void Alias_HonouredByAllowList()
    {
        var catalog = With(new() { ["my-coder"] = "gpt-4.1" });
        Assert.True(ModelAllowList.Allows(["my-coder"], catalog.Find("gpt-4.1")!));
    }

    [Fact]
    public void PinResolver_ResolvesAliases_AndRefusesUnknownAndDisallowed()
    {
        var catalog = With(null);
        var pins = ModelPinResolver.Resolve(catalog, "claude-sonnet-4-5-20250929", ["gpt-5"], null, "fallbacks", "");
        Assert.Equal("anthropic/claude-sonnet-5-5", pins.Models.Single().Key);
        Assert.Equal("openai/gpt-6.2-sol", pins.Fallbacks.Single().Key);

        var unknown = Assert.Throws<Grpc.Core.RpcException>(() => ModelPinResolver.Resolve(catalog, "nope", [], null, "fallbacks", ""));
        Assert.Equal(Grpc.Core.StatusCode.NotFound, unknown.StatusCode);
        var badFallback = Assert.Throws<Grpc.Core.RpcException>(() => ModelPinResolver.Resolve(catalog, null, ["nope"], null, "fallbacks", ""));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, badFallback.StatusCode);
        var refused = Assert.Throws<Grpc.Core.RpcException>(() => ModelPinResolver.Resolve(catalog, "gpt-5", [], ["anthropic"], "fallbacks", ""));
        Assert.Equal(Grpc.Core.StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Same(RoutePins.None, ModelPinResolver.Resolve(catalog, "", [], null, "fallbacks", ""));
    }
}
