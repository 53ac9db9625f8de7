using Microsoft.Extensions.Logging.Abstractions;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Providers.Anthropic;
using MonkeyCoder.Core.Providers.Gemini;
using MonkeyCoder.Core.Providers.Http;
using MonkeyCoder.Core.Providers.OpenAi;
using MonkeyCoder.EndToEnd.Tests.Fakes;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Providers;

/// <summary>A fake provider server with the matching real client pointed at it.</summary>
internal sealed class ProviderHarness : IAsyncDisposable
{
    public static readonly TokenCounter Tokens = new();

    public static readonly ModelCatalog Catalog = new(ModelCatalog.LoadDocument(null));

    private ProviderHarness(FakeProviderServer fake, HttpProviderClient client, CatalogModel model)
    {
        Fake = fake;
        Client = client;
        Model = model;
    }

    public FakeProviderServer Fake { get; }

    public HttpProviderClient Client { get; }

    public CatalogModel Model { get; }

    /// <param name="protocol">"openai", "anthropic", "gemini", or "xai" (OpenAI's protocol with xAI's error bodies).</param>
    public static async Task<ProviderHarness> StartAsync(string protocol, TimeSpan? headersTimeout = null, TimeSpan? idleTimeout = null, string? apiKey = null)
    {
        FakeProviderServer fake = protocol switch
        {
            "openai" => await FakeOpenAiServer.StartNewAsync(),
            "xai" => await FakeOpenAiServer.StartNewAsync("xai"),
            "anthropic" => await FakeAnthropicServer.StartNewAsync(),
            "gemini" => await FakeGeminiServer.StartNewAsync(),
            _ => throw new ArgumentOutOfRangeException(nameof(protocol)),
        };
        var settings = new ProviderClientSettings
        {
            Name = fake.ProviderName,
            BaseUrl = fake.BaseUrl,
            ApiKey = apiKey ?? fake.ApiKey,
            ResponseHeadersTimeout = headersTimeout ?? TimeSpan.FromSeconds(20),
            RequestTimeout = headersTimeout ?? TimeSpan.FromSeconds(20),
            StreamIdleTimeout = idleTimeout ?? TimeSpan.FromSeconds(20),
        };
        HttpProviderClient client = protocol switch
        {
            "openai" or "xai" => new OpenAiClient(settings, Tokens, TimeProvider.System, NullLogger<OpenAiClient>.Instance),
            "anthropic" => new AnthropicClient(settings, Tokens, TimeProvider.System, NullLogger<AnthropicClient>.Instance),
            _ => new GeminiClient(settings, Tokens, TimeProvider.System, NullLogger<GeminiClient>.Instance),
        };
        var model = protocol switch
        {
            "openai" => Catalog.Find("gpt-4.1-mini", "openai")!,
            "xai" => Catalog.Find("grok-3", "xai")!,
            "anthropic" => Catalog.Find("claude-sonnet-4-20250514", "anthropic")!,
            _ => Catalog.Find("gemini-2.5-flash", "google")!,
        };
        return new ProviderHarness(fake, client, model);
    }

    public ProviderRequest Request(CatalogModel? model = null, int maxTokens = 256, double? temperature = 0.2) => new()
    {
        Model = model ?? Model,
        Messages =
        [
            new ChatMessage(ChatRole.System, "You are a careful senior engineer."),
            new ChatMessage(ChatRole.User, "Write fizzbuzz in python."),
        ],
        MaxTokens = maxTokens,
        Temperature = temperature,
        TaskType = TaskType.CodeGeneration,
    };

    /// <summary>Streams to the end, returning the content deltas and the final event.</summary>
    public async Task<(List<string> Deltas, ProviderStreamEvent Final)> StreamAllAsync(ProviderRequest? request = null, CancellationToken cancellationToken = default)
    {
        var deltas = new List<string>();
        ProviderStreamEvent? final = null;
        await foreach (var item in Client.StreamAsync(request ?? Request(), cancellationToken))
        {
            Assert.Null(final);
            if (item.IsFinal)
            {
                final = item;
            }
            else
            {
                deltas.Add(item.Delta!);
            }
        }

        Assert.NotNull(final);
        return (deltas, final.Value);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Fake.DisposeAsync();
    }
}
