using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Hosting;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Providers.Anthropic;
using MonkeyCoder.Core.Providers.Gemini;
using MonkeyCoder.Core.Providers.OpenAi;

namespace MonkeyCoder.Tests.Providers;

public sealed class ProviderConfigurationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMonkeyCoder(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void AddMonkeyCoderProviders_KeysAndBaseUrls_EnableExactlyThoseProviders()
    {
        using var provider = Build(new()
        {
            ["MonkeyCoder:Providers:openai:ApiKey"] = "sk-1",
            ["MonkeyCoder:Providers:anthropic:ApiKey"] = "sk-ant-1",
            ["MonkeyCoder:Providers:google:ApiKey"] = "AIza-1",
            ["MonkeyCoder:Providers:groq:BaseUrl"] = "http://127.0.0.1:9/openai/v1",
            ["MonkeyCoder:Providers:xai:Protocol"] = "openai",
            ["MonkeyCoder:Providers:myvllm:BaseUrl"] = "http://user:secret@vllm.internal:8000/v1",
            ["MonkeyCoder:Providers:myvllm:Models:0:Id"] = "qwen-local",
            ["MonkeyCoder:Providers:myvllm:Models:0:ContextWindow"] = "32768",
            ["MonkeyCoder:Providers:myvllm:Models:0:Fallbacks:0"] = "openai/gpt-4.1-mini",
        });

        var registry = provider.GetRequiredService<ProviderRegistry>();
        Assert.Equal(["anthropic", "google", "groq", "myvllm", "openai", "simulated"], registry.Enabled.Order().ToArray());
        Assert.IsType<OpenAiClient>(registry.Get("openai"));
        Assert.IsType<AnthropicClient>(registry.Get("anthropic"));
        Assert.IsType<GeminiClient>(registry.Get("google"));
        Assert.IsType<OpenAiClient>(registry.Get("myvllm"));
        Assert.Equal("https://api.openai.com/v1", registry.BaseUrlOf("openai")!.TrimEnd('/'));
        // Credentials in a base URL never leave the client.
        Assert.Equal("http://vllm.internal:8000/v1", registry.BaseUrlOf("myvllm"));

        var catalog = provider.GetRequiredService<ModelCatalog>();
        var local = catalog.Find("qwen-local")!;
        Assert.Equal("myvllm", local.Provider);
        Assert.Equal(32768, local.ContextWindow);
        Assert.Equal(["openai/gpt-4.1-mini"], local.Fallbacks);
        Assert.Equal("openai", catalog.FindProvider("myvllm")!.Protocol);
        Assert.DoesNotContain("secret", catalog.FindProvider("myvllm")!.BaseUrl, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMonkeyCoderProviders_NoSettings_OnlySimulated()
    {
        using var provider = Build(new());
        Assert.Equal(["simulated"], provider.GetRequiredService<ProviderRegistry>().Enabled.ToArray());
    }

    [Fact]
    public void Validate_BadBaseUrl_NamesTheEnvironmentVariable()
    {
        var result = new ProviderEndpointOptionsValidator().Validate("openai", new ProviderEndpointOptions { BaseUrl = "api.openai.com/v1" });
        Assert.True(result.Failed);
        Assert.Contains("OPENAI_BASE_URL (MonkeyCoder:Providers:openai:BaseUrl)", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownProtocolAndModelWithoutId_Fails()
    {
        var options = new ProviderEndpointOptions { Protocol = "soap", Models = [new CatalogModelOptions { ContextWindow = 0 }] };
        var result = new ProviderEndpointOptionsValidator().Validate("mine", options);
        Assert.Contains("MonkeyCoder:Providers:mine:Protocol 'soap'", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("MonkeyCoder:Providers:mine:Models:0:Id is required", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("ContextWindow and MaxOutputTokens must be positive", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TimeoutOutOfRange_Fails()
    {
        var result = new ProviderEndpointOptionsValidator().Validate("openai", new ProviderEndpointOptions { ApiKey = "k", StreamIdleTimeoutSeconds = 0 });
        Assert.Contains("StreamIdleTimeoutSeconds", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_UnknownProviderWithKeyButNoBaseUrl_FailsNamingTheSetting()
    {
        using var provider = Build(new() { ["MonkeyCoder:Providers:mystery:ApiKey"] = "k" });
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<ProviderRegistry>());
        Assert.Contains("MonkeyCoder:Providers:mystery:BaseUrl", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\"k\"", ex.Message, StringComparison.Ordinal);
    }
}
